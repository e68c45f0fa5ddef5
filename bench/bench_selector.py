"""Selector solve time for 2, 20 and 100 layers over the full design space.

    python bench/bench_selector.py [--layers 2 20 100] [--repeat 3] [--target ice40-up5k]

For each size a chain of fully connected layers (seeded widths 16…64) is scored over the
default :class:`SpaceLimits` (L 16…4096, precision 2…16, LFSR/Sobol/vdC at widths 8 and
16, 4 LFSR seeds, every decorrelation, the folding ladder) with the target's calibrated
prior and the ``model:sc-stream-error`` proxy, then solved under LUT + power + latency
budgets set to bind. Printed: options per layer, options left after pruning, the time to
build the problem (enumeration, prior, error proxy; the first build also fills the
per-process error tables), the first solve of a fresh problem (it also prunes each layer's
options once per sub-problem, budget-independent), the median solve after that, and the
median ``select`` (solve + which budgets bind + totals), for both architectures. Wall and
CPU seconds are both printed: on a shared machine CPU time is the fair figure.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from stochflow.flow.targets import get_target
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.optimise import TargetInfo, build_problem, fit_models
from stochflow.surrogate.selector import Budget, select, solve


def chain(layers: int, architecture: str) -> NetworkConfig:
    """Seeded layer widths 16…64: (almost) no two layers are the same problem."""
    sizes = [int(n) for n in np.random.default_rng(2026).integers(16, 65, size=layers + 1)]
    configs = []
    for k in range(layers):
        encoder = k == 0 or architecture == "regenerate"
        configs.append(LayerConfig(f"l{k}", sizes[k], sizes[k + 1],
                                   input_rng=RngSpec(seed=7) if encoder else None))
    return NetworkConfig(f"chain{layers}", tuple(configs), architecture)  # type: ignore[arg-type]


@dataclass
class Timed:
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.3f} ({self.cpu:.3f})"


def timed(work: Callable[[], Any]) -> tuple[Any, Timed]:
    """Wall and process CPU time of one call (the machine may be shared: CPU is the fair one)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, Timed(time.perf_counter() - wall, time.process_time() - cpu)


def median(samples: list[Timed]) -> Timed:
    return Timed(statistics.median(t.wall for t in samples), statistics.median(t.cpu for t in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 20, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", default="ice40-up5k")
    parser.add_argument("--clock-mhz", type=float, default=12.0)
    parser.add_argument("--architectures", nargs="+", default=["stream", "regenerate"],
                        choices=["stream", "regenerate"])
    args = parser.parse_args()
    registry = get_target(args.target)
    static = registry.static_power
    target = TargetInfo(registry.name, registry.family,
                        static.watts if static else None, static.source if static else None)
    models = fit_models(target, clock_mhz=args.clock_mhz)
    accuracy = StreamErrorModel()
    console = Console(width=160)
    table = Table(title=f"selector on {args.target} (full default space); seconds: wall (CPU)")
    for column in ("arch", "layers", "options/layer", "kept", "build", "first solve",
                   "solve (median)", "select (median)", "binding"):
        table.add_column(column)
    for architecture in args.architectures:
        for count in args.layers:
            config = chain(count, architecture)
            free, build = timed(lambda config=config: build_problem(config, models, Budget(luts=1e12),
                                                                    accuracy))
            best = select(free)
            budget = Budget(
                luts=0.7 * best.totals["luts"]["upper_bound"],
                power_mw=0.95 * best.totals["power_mw"]["upper_bound"] if models.power else None,
                latency_cycles=0.5 * best.totals["latency_cycles"]["value"],
            )
            # A fresh problem: its first solve pays the per-layer pruning, later ones reuse it.
            problem = build_problem(config, models, budget, accuracy)
            solution, first = timed(lambda problem=problem: solve(problem))
            warm = [timed(lambda problem=problem: solve(problem))[1] for _ in range(args.repeat)]
            selections = [timed(lambda problem=problem: select(problem)) for _ in range(args.repeat)]
            selection = selections[-1][0]
            options = sum(layer.space.size for layer in problem.layers) // count
            kept = sum(solution.sizes) if solution else 0
            table.add_row(architecture, str(count), str(options), str(kept), str(build), str(first),
                          str(median(warm)), str(median([t for _, t in selections])),
                          ",".join(selection.binding) or ("infeasible" if not selection.feasible else "-"))
            console.print(f"{architecture}: {count} layers done")
    console.print(table)


if __name__ == "__main__":
    main()
