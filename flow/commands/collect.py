"""``stochflow collect-synthesis``: one design + its build's reports → one observation.

The flags are those of the established ``collect-synthesis`` tool, so existing scripts
keep working (``--utilization`` is accepted as well as ``--utilisation``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from stochflow.surrogate.evidence import (
    ObservationLoadError,
    payload_from_observations,
    write_payload,
)
from stochflow.surrogate.observation import Observation

from ..collect import CollectError, build_observation, read_design, target_and_device
from ..errors import UsageError
from ..store import DEFAULT_STORE_PATH, EvidenceStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect-synthesis",
        help="join design.json with a build's utilisation/power/timing reports into an observation",
        description=(
            "Parse a build's reports (Vivado, Quartus, Yosys, nextpnr, icetime), check that "
            "they belong together and to the design, and write one observation payload. "
            "Exit 2: bad arguments or input; exit 1: a report that cannot be read, or a run "
            "that failed."
        ),
    )
    parser.add_argument(
        "--design", required=True, type=Path, help="design.json of the built design"
    )
    parser.add_argument(
        "--utilisation",
        "--utilization",
        dest="utilisation",
        required=True,
        type=Path,
        help="Vivado utilization, Quartus fit/map summary or fit.rpt, Yosys stat, nextpnr report/log",
    )
    parser.add_argument(
        "--power", type=Path, help="Vivado power report or Quartus pow.summary (omit: no power)"
    )
    parser.add_argument(
        "--timing",
        type=Path,
        help="Vivado timing summary, Quartus sta.summary, nextpnr log/report or icetime report",
    )
    parser.add_argument(
        "--accuracy-score",
        required=True,
        help="accuracy as a fraction 0–1, or a percentage: 'A%%' or a number above 1 up to 100",
    )
    parser.add_argument(
        "--accuracy-source",
        default="user:accuracy-score",
        help="source label of the accuracy (default user:accuracy-score; e.g. sim:golden)",
    )
    parser.add_argument(
        "--latency-cycles",
        type=int,
        help="cycles per run; only when design.json and the reports state none (must agree)",
    )
    parser.add_argument("--clock-mhz", type=float, help="clock the design runs at (for energy)")
    parser.add_argument(
        "--inferences-per-run", type=int, help="inferences one run computes (for energy)"
    )
    parser.add_argument(
        "--target", help="target name (default: the registered target of the stated device)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--store",
        type=Path,
        default=DEFAULT_STORE_PATH,
        help=f"evidence store to add the observation to (default {DEFAULT_STORE_PATH})",
    )
    where.add_argument("--no-store", action="store_true", help="do not touch the evidence store")
    parser.add_argument("--out", required=True, type=Path, help="observation payload to write")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        observation = build_observation(
            args.design,
            args.utilisation,
            args.power,
            args.timing,
            accuracy_score=args.accuracy_score,
            latency_cycles=args.latency_cycles,
            clock_mhz=args.clock_mhz,
            inferences_per_run=args.inferences_per_run,
            target=args.target,
            accuracy_source=args.accuracy_source,
        )
    except CollectError as error:
        _record_failure(args, error)
        raise
    except ObservationLoadError as error:
        raise UsageError(str(error)) from None
    stored_id = None
    if not args.no_store:
        with EvidenceStore(args.store) as store:
            stored_id = store.add(observation)
    try:
        write_payload(payload_from_observations([observation]), args.out)
    except OSError as error:
        raise UsageError(f"--out {args.out}: cannot write: {error.strerror}") from None
    _show(observation, args.out, None if args.no_store else args.store, stored_id)
    return 0


def _record_failure(args: argparse.Namespace, error: CollectError) -> None:
    """A failed run is evidence too: the store remembers it when it can be keyed.

    It is keyed by design hash and target; when neither ``--target`` nor the report
    names the device, there is no key and nothing is recorded (the error still stands).
    """
    if args.no_store:
        return
    report = error.report
    try:
        design = read_design(args.design)
        target, _, _ = target_and_device(args.target, [("utilisation", report)])
    except UsageError:
        return
    with EvidenceStore(args.store) as store:
        store.add_failure(
            design.design_hash,
            target,
            f"{report.tool}:{report.kind}",
            report.status_text or "the run failed",
            report.file,
        )


def _show(observation: Observation, out: Path, store: Path | None, stored_id: int | None) -> None:
    title = f"{observation.design_name} on {observation.target} ({observation.device})"
    table = Table(title=escape(title))
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("source")
    for name, figure in observation.resources.items():
        available = f" / {figure.available:g}" if figure.available is not None else ""
        table.add_row(name, f"{figure.used:g}{available}", figure.source)
    for clock in observation.clocks:
        parts = [f"{clock.fmax_mhz:.2f} MHz" if clock.fmax_mhz is not None else "-"]
        if clock.met is not None:
            parts.append("met" if clock.met else "[red]FAILED[/red]")
        table.add_row(f"clock {escape(clock.name)}", " ".join(parts), clock.source)
    if observation.timing is not None:
        timing = observation.timing
        verdict = {True: "met", False: "[red]FAILED[/red]", None: "-"}[timing.met]
        wns = f" WNS {timing.wns_ns:g} ns" if timing.wns_ns is not None else ""
        table.add_row("timing", f"{verdict}{wns}", timing.source)
    if observation.power is not None:
        table.add_row("power", f"{observation.power.total_w:g} W", observation.power.source)
    table.add_row(
        "latency", f"{observation.latency_cycles.value} cycles", observation.latency_cycles.source
    )
    if observation.accuracy is not None:
        table.add_row("accuracy", f"{observation.accuracy.value:.4f}", observation.accuracy.source)
    if observation.energy_per_inference_j is not None:
        energy = observation.energy_per_inference_j
        table.add_row("energy / inference", f"{energy.value:.4g} J", energy.source)
    console = Console()
    console.print(table)
    where = f"; store {store} id {stored_id}" if store is not None else ""
    console.print(escape(f"wrote {out}{where}"))
