"""``stochflow sweep NET.toml --target T --grid "L=64,256;precision=4,6"``: build a knob grid.

Every grid point is generated and built (Yosys + nextpnr) in parallel, on a local
process pool (``--jobs N``, default every core) or a Dask cluster (``--scheduler
tcp://HOST:PORT``), and lands in the evidence store. Failed builds are recorded with
their reason and log and the sweep goes on. Ctrl-C stops cleanly; running the same
command again builds only the points not yet measured. The grid syntax is documented
in :mod:`stochflow.flow.sweep_grid` and ``docs/sweep.md``.

Exit status: 0 when every point was measured (now or before), 1 when a build failed,
2 for a bad spec, grid or option, 130 when interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import FlowError, UsageError
from ..store import DEFAULT_STORE_PATH
from ..synth import DEFAULT_STEP_TIMEOUT_S, BuildOptions

if TYPE_CHECKING:
    from ..sweep import PointOutcome, SweepReport

DEFAULT_OUT = Path("build") / "sweep"
DEFAULT_CLOCK_MHZ = 12.0  # the 12 MHz oscillator of the common iCE40 boards (iCEBreaker, UPduino)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="generate and build every point of a knob grid, in parallel"
    )
    parser.add_argument("network", type=Path, help="network spec (TOML)")
    parser.add_argument("--target", required=True, help="open target, e.g. ice40-up5k, ecp5-25k")
    parser.add_argument(
        "--grid", required=True,
        help='knob values, e.g. "L=64,256;rng=lfsr16,sobol8;precision=4,6;hidden.folding=3,all"',
    )  # fmt: skip
    parser.add_argument(
        "--clock-mhz", type=float, default=DEFAULT_CLOCK_MHZ,
        help=f"clock constraint in MHz (default {DEFAULT_CLOCK_MHZ:g})",
    )  # fmt: skip
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, help="local worker processes (default: every core)")
    where.add_argument(
        "--scheduler", help="Dask scheduler address (tcp://HOST:PORT); dask-jobqueue works too"
    )
    parser.add_argument(
        "--store", type=Path, default=DEFAULT_STORE_PATH,
        help=f"evidence store receiving the observations (default {DEFAULT_STORE_PATH})",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT,
        help=f"folder for every point's design and build (default {DEFAULT_OUT})",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_STEP_TIMEOUT_S, metavar="S",
        help=f"per-step timeout in seconds (default {DEFAULT_STEP_TIMEOUT_S:g})",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, help="nextpnr placer seed for every point")
    parser.add_argument("--no-abc9", action="store_true", help="synthesise without -abc9")
    parser.add_argument(
        "--store-writes", choices=("workers", "client"), default="workers",
        help="who writes the store: each worker (one host) or this process (multi-host clusters)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..executors import make_executor
    from ..sweep import SUMMARY_FILE, SweepSettings, plan_sweep, run_sweep
    from ..targets import get_target

    target = get_target(args.target)
    if not target.is_open:
        raise UsageError(
            f"sweep builds open targets; {target.name} is built with {target.flow} "
            "(stochflow synth writes its script)"
        )
    points = plan_sweep(args.network, args.grid)
    settings = SweepSettings(
        target=target.name,
        clock_mhz=args.clock_mhz,
        out_dir=args.out.resolve(),
        store_path=args.store.resolve(),
        step_timeout_s=args.timeout,
        options=BuildOptions(abc9=not args.no_abc9, seed=args.seed),
        network_file=str(args.network),
        store_writes=args.store_writes,
    )
    errors = Console(stderr=True)
    executor = make_executor(jobs=args.jobs, scheduler=args.scheduler)
    errors.print(
        f"sweep: {len(points)} points of {args.network} on {target.name} at "
        f"{args.clock_mhz:g} MHz, {executor.description}"
    )
    counts = {"built": 0, "cached": 0, "failed": 0, "error": 0}
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=errors,
    )  # fmt: skip
    with progress:
        task = progress.add_task("sweep", total=len(points), counts=_counts(counts))

        def advance(outcome: PointOutcome) -> None:
            counts[outcome.status] += 1
            progress.update(task, advance=1, counts=_counts(counts))
            if not outcome.ok:
                progress.console.print(f"[red]{outcome.label}[/red]: {_note(outcome)}")

        try:
            report = run_sweep(points, settings, executor, on_outcome=advance)
        except KeyboardInterrupt:
            measured = counts["built"] + counts["cached"]
            errors.print(
                f"interrupted: {measured} of {len(points)} points measured and kept in "
                f"{settings.store_path}; run the same command again to build the rest"
            )
            raise
    _print_table(Console(), report, target.name)
    summary = settings.out_dir / SUMMARY_FILE
    errors.print(
        f"{len(points)} points: {_counts(counts)} in {report.seconds:.1f} s; "
        f"outcomes in {summary}, observations in {settings.store_path}"
    )
    bad = report.count("failed") + report.count("error")
    if bad:
        raise FlowError(f"{bad} of {len(points)} points were not measured; see {summary}")
    return 0


def _counts(counts: dict[str, int]) -> str:
    return (
        f"built {counts['built']} · cached {counts['cached']} · failed {counts['failed']}"
        + (f" · errors {counts['error']}" if counts["error"] else "")
    )


def _note(outcome: PointOutcome) -> str:
    if outcome.failure is not None:
        failure = outcome.failure
        cached = " (cached)" if outcome.cached else ""
        return f"{failure.kind}{cached} at {failure.step}: {failure.reason}; log: {failure.log_path}"
    return outcome.error or ""


def _print_table(console: Console, report: SweepReport, target: str) -> None:
    table = Table(title=f"sweep on {target} at {report.clock_mhz:g} MHz")
    for column in ("point", "status", "lut", "lc", "ff", "Fmax MHz", "met", "s", "note"):
        numeric = column in ("lut", "lc", "ff", "Fmax MHz", "s")
        table.add_column(column, justify="right" if numeric else "left")
    for outcome in sorted(report.outcomes, key=lambda o: o.label):
        observation = outcome.observation
        cells = ["-", "-", "-", "-", "-"]
        if observation is not None:
            resources = observation.resources
            cells = [
                f"{resources[name].used:g}" if name in resources else "-"
                for name in ("lut", "lc", "ff")
            ]
            fmax = observation.fmax_mhz
            cells.append("-" if fmax is None else f"{fmax:.1f}")
            met = observation.timing_met
            cells.append({True: "yes", False: "[red]no[/red]", None: "-"}[met])
        style = {"built": "green", "cached": "cyan", "failed": "red", "error": "red"}[outcome.status]
        note = "" if outcome.ok else _note(outcome)
        table.add_row(
            outcome.label, f"[{style}]{outcome.status}[/{style}]", *cells,
            f"{outcome.seconds:.1f}", note,
        )  # fmt: skip
    console.print(table)
