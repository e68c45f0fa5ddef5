"""The ``stochflow`` command line.

Each subcommand lives in its own module under :mod:`stochflow.flow.commands` with a
``register(subparsers)`` function. Errors are mapped here, once: bad input exits 2 with
one line and no traceback; failed work exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from stochflow import __version__
from stochflow.hdl.errors import SpecError
from stochflow.parsers.report import ReportError
from stochflow.surrogate.evidence import ObservationLoadError

from .errors import FlowError, UsageError

COMMAND_MODULES: tuple[str, ...] = (
    "doctor",
    "generate",
    "simulate",
    "parse",
    "collect",
    "synth",
    "sweep",
    "optimise",
    "surrogate",
    "loop",
    "energy",
    "profile",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"stochflow: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stochflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"stochflow {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        module_name = f"{__package__}.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (UsageError, SpecError, ObservationLoadError) as error:
        sys.stderr.write(f"stochflow: error: {error}\n")
        return 2
    except ReportError as error:
        sys.stderr.write(f"stochflow: error: {error}\n")
        return 1
    except FlowError as error:
        sys.stderr.write(f"stochflow: {error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("stochflow: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
