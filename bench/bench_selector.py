"""Selector solve time for 2, 20 and 100 layers over the full design space.

    python bench/bench_selector.py [--layers 2 20 100] [--repeat 3] [--target ice40-up5k]

For each size a chain of fully connected layers (distinct widths 16…64) is scored over the
default :class:`SpaceLimits` (L 16…4096, precision 2…16, LFSR/Sobol/vdC at widths 8 and
16, 4 LFSR seeds, every decorrelation, the folding ladder) with the target's calibrated
prior and the ``model:sc-stream-error`` proxy, then solved under LUT + power + latency
budgets set to bind. Printed: options per layer, options left after pruning, the time to
build the problem (enumeration, prior, error proxy; first build fills the error cache) and
the solve time (pruning + exact MILP, median of ``--repeat``), for both architectures.
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.table import Table
from stochflow.flow.targets import get_target
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.optimise import TargetInfo, build_problem, fit_models
from stochflow.surrogate.selector import Budget, select, solve


def chain(layers: int, architecture: str) -> NetworkConfig:
    """Distinct layer shapes (widths 16…64), so no two layers are the same problem."""
    sizes = [16 + (7 * i) % 49 for i in range(layers + 1)]
    configs = []
    for k in range(layers):
        encoder = k == 0 or architecture == "regenerate"
        configs.append(LayerConfig(f"l{k}", sizes[k], sizes[k + 1],
                                   input_rng=RngSpec(seed=7) if encoder else None))
    return NetworkConfig(f"chain{layers}", tuple(configs), architecture)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 20, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", default="ice40-up5k")
    parser.add_argument("--clock-mhz", type=float, default=12.0)
    args = parser.parse_args()
    registry = get_target(args.target)
    static = registry.static_power
    target = TargetInfo(registry.name, registry.family,
                        static.watts if static else None, static.source if static else None)
    models = fit_models(target, clock_mhz=args.clock_mhz)
    accuracy = StreamErrorModel()
    console = Console()
    table = Table(title=f"selector on {args.target} (full default space)")
    for column in ("arch", "layers", "options/layer", "kept after pruning", "build s",
                   "solve s (median)", "select+report s", "binding"):
        table.add_column(column)
    for architecture in ("stream", "regenerate"):
        for count in args.layers:
            config = chain(count, architecture)
            start = time.perf_counter()
            free = build_problem(config, models, Budget(luts=1e12), accuracy)
            build = time.perf_counter() - start
            best = select(free)
            budget = Budget(
                luts=0.7 * best.totals["luts"]["upper_bound"],
                power_mw=0.95 * best.totals["power_mw"]["upper_bound"] if models.power else None,
                latency_cycles=0.5 * best.totals["latency_cycles"]["value"],
            )
            problem = build_problem(config, models, budget, accuracy)
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                solution = solve(problem)
                times.append(time.perf_counter() - start)
            start = time.perf_counter()
            selection = select(problem)
            full = time.perf_counter() - start
            options = sum(layer.space.size for layer in problem.layers) // count
            kept = sum(solution.sizes) if solution else 0
            table.add_row(architecture, str(count), str(options), str(kept), f"{build:.2f}",
                          f"{statistics.median(times):.3f}", f"{full:.3f}",
                          ",".join(selection.binding) or ("infeasible" if not selection.feasible else "-"))
            console.print(f"{architecture}: {count} layers done")
    console.print(table)


if __name__ == "__main__":
    main()
