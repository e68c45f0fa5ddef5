"""``stochflow surrogate report [--evidence build/evidence.sqlite] [--target T]``.

Cross-validated error of the surrogate on the measured observations: MAPE and R² per
metric, and how often the measured value fell inside the stated interval.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import FlowError, UsageError
from .optimise import load_evidence, target_info


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("surrogate", help="inspect the surrogate models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    report = actions.add_parser("report", help="cross-validated error and interval coverage")
    report.add_argument("--evidence", type=Path, default=Path("build/evidence.sqlite"))
    report.add_argument("--target", action="append", help="target(s) to report (default: all stored)")
    report.add_argument("--clock-mhz", type=float, help="clock frequency for the power prior")
    report.add_argument("--confidence", type=float, default=0.9, help="stated interval confidence")
    report.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from stochflow.surrogate.optimise import fit_models
    from stochflow.surrogate.prior import PriorUnavailable
    from stochflow.surrogate.report import InsufficientEvidence, cross_validate

    if not 0.5 <= args.confidence < 1.0:
        raise UsageError(f"--confidence: expected 0.5 ≤ c < 1, got {args.confidence}")
    observations = load_evidence(args.evidence)
    names = args.target or sorted({o.target for o in observations})
    if not names:
        raise FlowError(f"{args.evidence}: no observations to report on")
    console = Console()
    table = Table(title=f"surrogate cross-validation ({args.evidence})")
    for column in ("target", "metric", "n", "folds", "MAPE", "R²", "coverage", "prior MAPE"):
        table.add_column(column)
    problems = []
    for name in names:
        target = target_info(name)
        try:
            models = fit_models(target, observations, clock_mhz=args.clock_mhz)
        except PriorUnavailable as error:
            problems.append(f"{name}: {error}")
            continue
        metrics = ["lut", "ff"] + (["power_mw"] if models.prior.has_power else [])
        for metric in metrics:
            try:
                result = cross_validate(observations, models.prior, name, metric, args.confidence)
            except InsufficientEvidence as error:
                problems.append(str(error))
                continue
            table.add_row(name, metric, str(result.observations), result.folds,
                          f"{result.mape:.1%}", f"{result.r2:.3f}",
                          f"{result.coverage:.0%} (stated {result.interval_confidence:.0%})",
                          f"{result.prior_mape:.1%}")
    if table.row_count:
        console.print(table)
    for problem in problems:
        console.print(f"[yellow]{problem}[/yellow]")
    if not table.row_count:
        raise FlowError("too few observations to cross-validate: " + "; ".join(problems))
    return 0
