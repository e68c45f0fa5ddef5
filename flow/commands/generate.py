"""``stochflow generate NET.toml --out DIR [--choice choice.json]``: RTL + design.json.

Loads the network spec, optionally applies the optimiser's per-layer choice, quantises,
and writes ``sc_network.v``, ``sc_board.v``, ``weights.npz`` and ``design.json``.
A bad spec or choice is a :class:`SpecError` / :class:`UsageError` (exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="write the RTL (sc_network.v, sc_board.v) and design.json of a network"
    )
    parser.add_argument("network", type=Path, help="network spec (TOML)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--choice", type=Path, help="per-layer choice (JSON) from `stochflow optimise` to apply"
    )
    parser.set_defaults(handler=run)


def read_choice(path: Path) -> Any:
    """The choice file's JSON, or a one-line :class:`UsageError` naming file and position."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot read choice file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})") from None


def run(args: argparse.Namespace) -> int:
    from stochflow.hdl.generate import generate
    from stochflow.hdl.rtl_network import compute_cycles
    from stochflow.hdl.spec import apply_choice, load_spec

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"{args.out}: exists and is not a folder")
    console = Console(stderr=True)
    spec = load_spec(args.network)
    if args.choice is not None:
        spec = apply_choice(spec, read_choice(args.choice), source=str(args.choice))
    with console.status("quantising and generating RTL"):
        network = spec.build()
        manifest_path = generate(network, args.out, network_file=args.network)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    periods = (
        f"{manifest['cycles_per_period']} cycle(s) per period"
        if network.config.architecture == "stream"
        else "layers one after another"
    )
    print(f"wrote {args.out}: sc_network.v, sc_board.v, weights.npz, design.json")
    print(
        f"design {manifest['name']} ({network.config.architecture}, "
        f"{len(network.layers)} layers, {periods}): latency {manifest['latency_cycles']} cycles "
        f"({compute_cycles(network)} compute + 1), design_hash {manifest['design_hash'][:12]}"
    )
    return 0
