"""``stochflow doctor``: every tool with version and path; exit 1 naming what is missing."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from ..toolchain import survey, yowasp_version


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="list every tool with version and path")
    parser.add_argument(
        "--run",
        action="store_true",
        help="also run each YoWASP tool once to print its own version (first run compiles, ~30 s each)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    table = Table(title="stochflow toolchain")
    table.add_column("tool", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("path", overflow="fold")
    missing: list[str] = []
    missing_packages: list[str] = []
    for tool in survey():
        version = tool.version
        if args.run and tool.path and tool.name.startswith("yowasp-") and "pack" not in tool.name:
            version = yowasp_version(tool.name) or version
        if not tool.found:
            status = (
                "[red]missing[/red]" if tool.required else "[dim]not installed (optional)[/dim]"
            )
            if tool.required:
                missing.append(tool.package or tool.name)
                if tool.package:
                    missing_packages.append(tool.package)
            table.add_row(tool.name, status, f"(package {tool.package})" if tool.package else "-")
        else:
            table.add_row(tool.name, version or "?", tool.path or "(python package)")
    console.print(table)
    if missing:
        names = ", ".join(sorted(set(missing)))
        hint = f" (pip install {' '.join(sorted(set(missing_packages)))})" if missing_packages else ""
        sys.stderr.write(f"stochflow doctor: missing: {names}{hint}\n")
        return 1
    console.print("all required tools found")
    return 0
