"""``stochflow loop NET.toml --target T --budget luts=…,power_mw=…,latency_cycles=…``.

Runs the closed loop (:mod:`stochflow.flow.loop`): choose, generate, simulate, build,
learn, until the chosen design is measured within every budget and stable. One table
row per round; ``OUT/report.json``, ``report.md`` and ``report.html`` at the end.
Exit 0 when the final design meets every budget by measurement (and its RTL was proven
bit-exact), 1 when it does not (infeasible, max builds without such a design, vendor
builds awaited), 2 for bad arguments, 130 when interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.status import Status
from rich.table import Table

from ..errors import UsageError
from .optimise import load_space

DEFAULT_MAX_BUILDS = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "loop", help="closed loop: choose, build, measure and learn until a design meets the budget")
    parser.add_argument("spec", type=Path, metavar="NET.toml")
    parser.add_argument("--target", required=True, help="target name (stochflow.flow.targets)")
    parser.add_argument("--budget", required=True,
                        help="luts=…,power_mw=…,latency_cycles=… (any subset, at least one)")
    parser.add_argument("--max-builds", type=int, default=DEFAULT_MAX_BUILDS,
                        help=f"designs the loop may measure (default {DEFAULT_MAX_BUILDS})")
    parser.add_argument("--out", type=Path, default=Path("build/loop"),
                        help="output folder (default build/loop)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, help="local worker processes (default: every core)")
    where.add_argument("--scheduler", help="Dask scheduler address (tcp://HOST:PORT)")
    parser.add_argument("--clock-mhz", type=float, default=12.0,
                        help="clock constraint of every build and of the power figures (default 12)")
    parser.add_argument("--confidence", type=float, default=0.9,
                        help="one-sided confidence of the predicted resource bounds (default 0.9)")
    parser.add_argument("--vectors", type=int, default=32,
                        help="held-out vectors each design is simulated on (default 32)")
    parser.add_argument("--explore", type=int,
                        help="extra near-optimal designs per round (default: workers - 1, ≤ 3)")
    parser.add_argument("--store", type=Path,
                        help="evidence store (default OUT/evidence.sqlite)")
    parser.add_argument("--space", type=Path, help="TOML table restricting the design space")
    parser.add_argument("--resume", action="store_true",
                        help="continue the loop recorded in OUT/loop.json")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds per build step before it is stopped (default 1800)")
    parser.set_defaults(handler=run)


def settings_from_args(args: argparse.Namespace) -> Any:
    from stochflow.surrogate.selector import Budget, BudgetError

    from ..loop import LoopSettings

    try:
        budget = Budget.parse(args.budget)
    except BudgetError as error:
        raise UsageError(f"--budget: {error}") from None
    return LoopSettings(
        spec_path=args.spec, target=args.target, budget=budget, out_dir=args.out,
        store_path=args.store, max_builds=args.max_builds, jobs=args.jobs,
        scheduler=args.scheduler, clock_mhz=args.clock_mhz, confidence=args.confidence,
        vectors=args.vectors, explore=args.explore, resume=args.resume,
        limits=load_space(args.space), step_timeout_s=args.timeout,
    )


# Column title, width: the row printed after every round lines up with the first.
COLUMNS = (("#", 3), ("choice (L/source/p/fold per layer)", 36), ("mode", 9),
           ("LUTs pred → meas", 13), ("mW pred → meas", 13), ("cycles pred → meas", 13),
           ("budget use %", 13), ("LUT err", 7), ("acc.", 7), ("status", 11))
KEYS = ("round", "choice", "mode", "luts", "power", "latency", "use", "lut_err", "accuracy",
        "status")


class ConsoleObserver:
    """Prints one table row per round and shows what the round is doing meanwhile."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.header = True
        self.status: Status | None = None

    def _row_table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_header=self.header, show_edge=False,
                      pad_edge=False)
        for title, width in COLUMNS:
            table.add_column(title, min_width=width, max_width=width, overflow="fold")
        return table

    def progress(self, text: str, done: int, total: int) -> None:
        label = f"{text} [{done}/{total} jobs]" if total else text
        if self.status is None:
            self.status = self.console.status(label)
            self.status.start()
        else:
            self.status.update(label)

    def message(self, text: str) -> None:
        self.console.print(text)

    def round_finished(self, record: dict[str, Any], budget: Any) -> None:
        from ..loop_report import round_cells

        if self.status is not None:
            self.status.stop()
            self.status = None
        cells = round_cells(record, budget.to_json())
        table = self._row_table()
        table.add_row(*(cells[key] for key in KEYS))
        self.console.print(table)
        self.header = False
        for explored in record.get("explored", []):
            row = round_cells({**explored, "round": "", "mode": "explore"}, budget.to_json())
            extra = self._row_table()
            extra.show_header = False
            extra.add_row(*(row[key] for key in KEYS))
            self.console.print(extra)
        if record.get("mode") == "infeasible":
            self.console.print(f"[red]infeasible[/red]: {record.get('stop_message')}")


def _summary(console: Console, result: Any) -> None:
    report = result.report
    final = report["final"]
    console.print(f"stop: [bold]{final['stop_reason']}[/bold] — {final['message']}")
    if final["design"] is None:
        console.print("[red]no measured design meets every budget[/red]")
    else:
        measured = final["measured"] or {}
        power = measured.get("power_mw")
        console.print(
            f"final design {final['design']} ({final['choice']}): LUTs {measured.get('luts'):.0f}, "
            f"power {'–' if power is None else f'{power:.3f} mW'}, latency "
            f"{measured.get('latency_cycles')} cycles, Fmax "
            f"{measured.get('fmax_mhz') or 0:.1f} MHz; within budget: {final['within_budget']}; "
            f"bit-exact: {final['bit_exact']}")
        if final["accuracy"] is not None:
            console.print(f"accuracy {final['accuracy']:.2%} (sim:golden, "
                          f"{final.get('accuracy_samples')} held-out samples); float network "
                          f"{final['float_accuracy']:.2%}")
    for design in report["designs"]:
        vendor = design.get("vendor")
        if vendor and design["status"] == "pending_vendor":
            console.print(f"vendor build of {design['design_hash'][:12]}: {vendor['run']}")
            console.print(f"  then: {vendor['collect']}")
    console.print(f"{report['builds']} designs measured, {len(report['rounds'])} rounds, "
                  f"{report['wall_seconds']:.0f} s; wrote {result.paths['json']}, "
                  f"{result.paths['md']}, {result.paths['html']}")


def run(args: argparse.Namespace) -> int:
    from ..loop import run_loop

    settings = settings_from_args(args)
    console = Console()
    if not console.is_terminal:  # a log: wide enough for one round per line
        console = Console(width=150)
    observer = ConsoleObserver(console)
    try:
        result = run_loop(settings, observer)
    finally:
        if observer.status is not None:
            observer.status.stop()
    _summary(console, result)
    return result.exit_code
