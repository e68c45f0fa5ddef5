"""``stochflow parse FILE… [--kind K] [--json]``: read tool reports, strictly.

Prints each report's stated figures (a rich table, or ``Report.to_json()`` objects with
``--json``: one object for one file, a list for several). A report that cannot be read
prints ``file:line:col: message (expected …)`` and the command exits 1; a missing file
or an unknown kind is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from stochflow.parsers import Report, ReportError, parse_file
from stochflow.parsers.report import KINDS

from ..errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "parse", help="read Vivado/Quartus/Yosys/nextpnr/icetime reports into typed figures"
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="report files")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        metavar="KIND",
        help=f"force the report kind (still checked against the content): {', '.join(KINDS)}",
    )
    parser.add_argument("--json", action="store_true", help="print Report.to_json() objects")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"no such report file: {path}")
    reports: list[Report] = []
    failed = False
    for path in args.files:
        try:
            reports.append(parse_file(path, kind=args.kind))
        except ReportError as error:
            failed = True
            sys.stderr.write(f"stochflow: error: {error}\n")
    if args.json:
        data = [report.to_json() for report in reports]
        if data:
            payload = data[0] if len(args.files) == 1 else data
            sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        console = Console()
        for report in reports:
            console.print(report_table(report))
    return 1 if failed else 0


def report_table(report: Report) -> Table:
    """One report as a two-column table: every stated figure, nothing else."""
    table = Table(title=report.file or "report", show_header=True, title_justify="left")
    table.add_column("figure")
    table.add_column("value", overflow="fold")
    for key in ("tool", "kind", "tool_version", "device", "design", "status", "status_text"):
        value = getattr(report, key)
        if value is not None:
            table.add_row(key, str(value))
    for name, count in report.resources.items():
        used = "-" if count.used is None else f"{count.used:,}"
        if count.available is None:
            table.add_row(f"resource {name}", used)
        else:
            share = (
                f" ({100 * count.used / count.available:.1f} %)"
                if count.used is not None and count.available
                else ""
            )
            table.add_row(f"resource {name}", f"{used} / {count.available:,}{share}")
    if report.cells is not None:
        table.add_row("cells", f"{report.cells:,}")
    if report.power is not None:
        for key, value in report.power.to_json().items():
            table.add_row(f"power {key}", str(value))
    if report.timing is not None:
        timing = report.timing.to_json()
        clocks = timing.pop("clocks", [])
        for key, value in timing.items():
            table.add_row(f"timing {key}", str(value))
        for clock in clocks:
            name = clock.pop("name")
            details = ", ".join(f"{key} {value}" for key, value in clock.items())
            table.add_row(f"clock {name}", details or "listed")
    for key in ("latency_cycles_min", "latency_cycles_max", "sha256"):
        value = getattr(report, key)
        if value is not None:
            table.add_row(key, str(value))
    return table
