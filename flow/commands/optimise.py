"""``stochflow optimise NET.toml --target T --budget luts=…,power_mw=…,latency_cycles=…``.

Picks one option per layer (L, source, precision, decorrelation, folding) that minimises
the summed per-layer error proxy with every budget met on its upper confidence bound,
prints the choice as a table and writes ``choice.json`` (``stochflow generate NET.toml
--choice choice.json`` builds it). Exit 2 on bad budgets or specs, 1 when infeasible
(the report says which budget to raise and which layers cannot be placed).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..errors import FlowError, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("optimise", help="pick per-layer knobs under LUT/power/latency budgets")
    parser.add_argument("spec", type=Path, metavar="NET.toml")
    parser.add_argument("--target", required=True, help="target name (stochflow.flow.targets)")
    parser.add_argument("--budget", required=True, help="luts=…,power_mw=…,latency_cycles=… (any subset)")
    parser.add_argument("--evidence", type=Path, help="evidence store (SQLite) to learn from")
    parser.add_argument("--confidence", type=float, default=0.9,
                        help="one-sided confidence of the resource upper bounds (default 0.9)")
    parser.add_argument("--clock-mhz", type=float, help="clock frequency for the power model")
    parser.add_argument("--space", type=Path, help="TOML table restricting the design space (SpaceLimits)")
    parser.add_argument("--accuracy", choices=("model", "golden"), default="model",
                        help="error proxy: model:sc-stream-error over the whole space, or re-score "
                             "the promising options with the golden model (sim:golden)")
    parser.add_argument("--golden-options", type=int, default=48,
                        help="options per layer the golden model re-scores (default 48)")
    parser.add_argument("--calibration-samples", type=int, default=64,
                        help="inputs the golden proxy runs (training split of the spec's dataset)")
    parser.add_argument("--error-cache", type=Path, default=Path("build/accuracy-cache.sqlite"),
                        help="on-disk cache of golden layer errors")
    parser.add_argument("--out", type=Path, default=Path("choice.json"))
    parser.set_defaults(handler=run)


def load_space(path: Path | None) -> Any:
    """The ``SpaceLimits`` of a ``--space`` TOML file (None: no file given)."""
    if path is None:
        return None
    from stochflow.hdl.errors import SpecError
    from stochflow.surrogate.space import SpaceLimits

    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: {error}") from None
    try:
        return SpaceLimits.from_mapping(data.get("space", data))
    except SpecError as error:
        raise error.with_source(str(path)) from None


def target_info(name: str) -> Any:
    """The registry's target as the surrogate's TargetInfo (usage error if unknown)."""
    from stochflow.surrogate.optimise import TargetInfo

    from ..targets import get_target

    target = get_target(name)
    static = target.static_power
    return TargetInfo(
        name=target.name,
        family=target.family,
        static_power_w=static.watts if static is not None else None,
        static_source=static.source if static is not None else None,
    )


def load_evidence(path: Path | None) -> list[Any]:
    if path is None:
        return []
    if not path.is_file():
        raise UsageError(f"{path}: no evidence store there")
    from ..store import EvidenceStore

    with EvidenceStore(path) as store:
        return store.observations()


def run(args: argparse.Namespace) -> int:
    from stochflow.hdl.spec import load_spec
    from stochflow.surrogate.accuracy import StreamErrorModel
    from stochflow.surrogate.optimise import (
        apply_measurements,
        build_problem,
        choice_document,
        fit_models,
    )
    from stochflow.surrogate.prior import PriorUnavailable
    from stochflow.surrogate.selector import Budget, BudgetError, select

    from ..measured_choice import best_measured

    try:
        budget = Budget.parse(args.budget)
    except BudgetError as error:
        raise UsageError(str(error)) from None
    if not 0.5 <= args.confidence < 1.0:
        raise UsageError(f"--confidence: expected 0.5 ≤ c < 1, got {args.confidence}")
    if args.clock_mhz is not None and not args.clock_mhz > 0:
        raise UsageError(f"--clock-mhz: expected a positive frequency, got {args.clock_mhz}")
    spec = load_spec(args.spec)
    target = target_info(args.target)
    from stochflow.surrogate.space import SpaceLimits

    limits = load_space(args.space) or SpaceLimits()
    observations = load_evidence(args.evidence)
    console = Console()
    try:
        with console.status("scoring options with the prior and model:sc-stream-error…"):
            models = fit_models(target, observations, clock_mhz=args.clock_mhz)
            problem = build_problem(spec.config, models, budget, StreamErrorModel(),
                                    limits=limits, confidence=args.confidence)
        full, layer_error = problem, None
        if args.accuracy == "golden":
            problem, layer_error = _golden_problem(console, spec, problem, args)
        with console.status("solving…"):
            selection = select(problem)
        measured = best_measured(full, observations, target, layer_error)
        if measured is not None and (not selection.feasible
                                     or measured.objective < (selection.objective or 0.0)):
            selection = measured.selection
            console.print(f"design {measured.observation.design_hash[:12]} was measured within "
                          "every budget and no design predicted to be is better: it is the answer")
        else:
            apply_measurements(selection, observations, target)
    except BudgetError as error:
        raise UsageError(str(error)) from None
    except PriorUnavailable as error:
        raise FlowError(str(error)) from None
    document = choice_document(selection, target, spec.name)
    if selection.feasible and spec.dataset is not None:
        document["accuracy"] = _measured_accuracy(console, spec, document)
    from stochflow.surrogate.evidence import atomic_write_text

    atomic_write_text(args.out, json.dumps(document, indent=2) + "\n")
    print_selection(console, selection, document)
    console.print(f"wrote {args.out}")
    return 0 if selection.feasible else 1


def _calibration_inputs(spec: Any, samples: int) -> Any:
    """The spec's training inputs, or seeded uniform inputs when it names no dataset."""
    import numpy as np

    if spec.dataset is not None:
        return spec.load_dataset().x_train[:samples]
    return np.random.default_rng(0).random((samples, spec.n_inputs))


def _golden_problem(console: Console, spec: Any, problem: Any, args: argparse.Namespace
                    ) -> tuple[Any, Callable[[int, int], float]]:
    """The promising options re-scored by the golden model, and the golden error of any
    option of ``problem``."""
    import numpy as np
    from rich.progress import Progress
    from stochflow.surrogate.accuracy import ErrorCache, GoldenLayerError
    from stochflow.surrogate.optimise import refine_errors

    if args.golden_options < 1 or args.calibration_samples < 1:
        raise UsageError("--golden-options and --calibration-samples must be at least 1")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("golden layer errors", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        golden = GoldenLayerError(spec, _calibration_inputs(spec, args.calibration_samples),
                                  ErrorCache(args.error_cache), progress=step)
        refined = refine_errors(problem, golden, args.golden_options)

    def layer_error(index: int, option: int) -> float:
        space = problem.layers[index].space.subset(np.array([option]))
        return float(golden.layer_errors(space)[0])

    return refined, layer_error


def _measured_accuracy(console: Console, spec: Any, document: dict[str, Any]) -> dict[str, Any]:
    """Test-split accuracy of the chosen network, from the golden model."""
    from stochflow.hdl import golden
    from stochflow.hdl.spec import apply_choice
    with console.status("measuring the chosen network's accuracy with the golden model…"):
        network = apply_choice(spec, document).build()
        data = spec.load_dataset()
        predicted = golden.predict(network, data.x_test)
    value = float((predicted == data.y_test).mean())
    console.print(f"accuracy of the choice: {value:.2%} on {len(data.y_test)} held-out samples (sim:golden)")
    return {"value": value, "source": "sim:golden", "samples": len(data.y_test), "split": "test"}


def _fold(layer: dict[str, Any]) -> str:
    memory = ", ROM in block RAM" if layer.get("weight_memory") == "block" else ""
    return f"{layer['folding']} (F={layer['fold_cycles']}{memory})"


def _fmt(figure: dict[str, Any] | None, digits: int = 0) -> str:
    if figure is None:
        return "-"
    low, high = figure["interval"]
    if low == high:
        return f"{figure['value']:.{digits}f}"
    return f"{figure['value']:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def print_selection(console: Console, selection: Any, document: dict[str, Any]) -> None:
    if selection.feasible:
        table = Table(title=f"choice for {document['network']} on {document['target']} "
                            f"({selection.architecture}, bounds at {selection.confidence:.0%})")
        for column in ("layer", "L", "p", "source", "seed", "decorrelation", "fold", "error",
                       "LUTs", "FFs", "power mW", "cycles"):
            table.add_column(column)
        for layer in document["layers"]:
            source = f"{layer['rng']}{layer.get('width', '')}"
            table.add_row(
                layer["id"], str(layer["bitstream_length"]), str(layer["precision"]), source,
                str(layer["seed"]), layer["decorrelation"],
                _fold(layer), f"{layer['error']['value']:.4f}",
                _fmt(layer["luts"]), _fmt(layer["ffs"]), _fmt(layer["power_mw"], 2),
                str(layer["latency_cycles"]["value"]),
            )
        console.print(table)
        console.print(f"sources: error {document['layers'][0]['error']['source']}, "
                      f"LUTs {document['layers'][0]['luts']['source']}")
    budgets = Table(title="totals vs budgets")
    for column in ("metric", "total", "upper bound", "budget", "slack", "binds"):
        budgets.add_column(column)
    for key in ("luts", "power_mw", "latency_cycles"):
        total = selection.totals.get(key)
        limit = selection.budget.to_json().get(key)
        if total is None and limit is None:
            continue
        budgets.add_row(
            key,
            _fmt(total, 2 if key == "power_mw" else 0) if total else "-",
            f"{total['upper_bound']:.4g}" if total else "-",
            f"{limit:.4g}" if limit is not None else "-",
            f"{selection.slack[key]:.4g}" if key in selection.slack else "-",
            "yes" if key in selection.binding else "",
        )
    console.print(budgets)
    if not selection.feasible:
        console.print("[red]infeasible[/red]: no choice meets every budget")
        for key, increase in selection.increases.items():
            if increase is None:
                console.print(f"  raising {key} alone is not enough")
            else:
                console.print(f"  raise {key} by at least {increase:.4g}")
        for item in selection.unplaceable:
            who = item["layer"] or "the network"
            console.print(f"  {who} cannot be placed under {item['budget']}: {item['why']}")
