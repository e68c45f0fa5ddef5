"""RTL simulation speed: Verilator model cycles per second under the cocotb bench.

Usage::

    python bench/bench_rtl_sim.py [--vectors 32] [--networks tiny,mid,digits] [--cache DIR]

For each network: RTL generation time, model build time (wall and CPU, from an empty
cache unless ``--cache`` is given), then two runs of the same vectors:

- ``throughput``: inferences back to back, the bench touching only start/done (the
  model's own speed, ``stochflow.sim.runner.measure_throughput``);
- ``checked``: the full equivalence bench, sampling every layer's spikes each cycle
  and comparing with the golden model (what ``stochflow simulate`` does).

Networks: ``tiny`` (examples/tiny, 8-4-2), ``mid`` (a seeded 64-16-10 network at
L = 256, 8 bits, folded to 9 cycles per period, profiling weights from
``stochflow.flow.profile.synthetic_network``), ``digits`` (examples/digits, 64-32-10).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from stochflow.flow.profile import synthetic_network
from stochflow.hdl.network import Network
from stochflow.hdl.spec import load_spec
from stochflow.sim.runner import DesignUnderTest, measure_throughput, simulate
from stochflow.sim.vectors import random_vectors

REPO = Path(__file__).resolve().parents[1]


def _network(name: str) -> Network:
    if name in ("tiny", "digits"):
        return load_spec(REPO / "examples" / name / "network.toml").build()
    if name == "mid":
        base = synthetic_network([(64, 16), (16, 10)], bitstream_length=256, seed=0)
        layers = tuple(layer.with_knobs(folding=math.ceil(layer.columns / 9))
                       for layer in base.config.layers)
        return Network(base.config.__class__(base.config.name, layers, base.config.architecture),
                       base.weights)
    raise SystemExit(f"unknown network {name!r}; expected tiny, mid or digits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=32)
    parser.add_argument("--networks", default="tiny,mid,digits")
    parser.add_argument("--cache", type=Path, help="model cache (default: a fresh temporary one)")
    args = parser.parse_args()
    console = Console()
    table = Table(title=f"RTL simulation on Verilator, {args.vectors} vectors")
    for column in ("network", "latency", "RTL gen s", "build s (CPU)", "throughput cycles/s",
                   "checked cycles/s", "bit-exact"):
        table.add_column(column, justify="left" if column == "network" else "right")
    with tempfile.TemporaryDirectory(prefix="bench-rtl-sim-") as scratch:
        root = Path(scratch)
        cache = args.cache or root / "cache"
        for name in args.networks.split(","):
            network = _network(name)
            inputs = random_vectors(network, args.vectors, seed=0).inputs_q
            started = time.perf_counter()
            try:
                design = DesignUnderTest.generate(network, root / name / "rtl", label=name)
            except Exception as error:  # report and go on: a bench prints what it measured
                console.print(f"[red]{name}: RTL generation failed after "
                              f"{time.perf_counter() - started:.0f} s: {error!s:.300}")
                continue
            generated = time.perf_counter() - started
            fast = measure_throughput(network, inputs, work_dir=root / name / "fast",
                                      cache_dir=cache)
            checked = simulate(design, inputs, root / name / "checked", cache_dir=cache)
            table.add_row(
                name, str(design.latency_cycles), f"{generated:.1f}",
                f"{fast['build_seconds']:.1f} ({fast['build_cpu_seconds']:.1f})",
                f"{fast['cycles'] / fast['wall_seconds']:,.0f}",
                f"{checked.cycles / checked.run_seconds:,.0f}",
                f"{checked.vectors_matched}/{checked.vectors}",
            )
            console.print(f"{name}: throughput {fast['cycles']:,} cycles in "
                          f"{fast['wall_seconds']:.3f} s; checked {checked.cycles:,} cycles in "
                          f"{checked.run_seconds:.3f} s")
    console.print(table)


if __name__ == "__main__":
    main()
