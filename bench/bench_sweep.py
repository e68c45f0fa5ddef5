"""Sweep speed-up: the same sweep of examples/tiny with 2 local workers against 1.

Each run starts from nothing: a fresh output folder and a fresh evidence store, so no
point is answered from the build cache and every point is generated and built by the
real tools. Prints the wall time of each run, the seconds spent inside the tools, and
the speed-up (goal ≥ 1.7× with 2 workers on a 2-core machine). The load average is
printed beside each run: other work on the same cores slows the 2-worker run most, so
the speed-up means something only on an otherwise idle machine.

    /work/venv/bin/python bench/bench_sweep.py [--grid "L=64,128,256;precision=4,6"] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from stochflow.flow.executors import LocalExecutor
from stochflow.flow.sweep import SweepSettings, plan_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "tiny" / "network.toml"


def one_run(jobs: int, grid: str, target: str, clock_mhz: float) -> tuple[float, float, int]:
    """(wall seconds, seconds inside the tools, points built) of one sweep from scratch."""
    points = plan_sweep(SPEC, grid)
    with tempfile.TemporaryDirectory(prefix=f"bench-sweep-{jobs}-") as folder:
        settings = SweepSettings(
            target=target,
            clock_mhz=clock_mhz,
            out_dir=Path(folder) / "out",
            store_path=Path(folder) / "evidence.sqlite",
        )
        started = time.perf_counter()
        report = run_sweep(points, settings, LocalExecutor(jobs))
        wall = time.perf_counter() - started
    built = report.count("built")
    if built != len(points):
        raise SystemExit(f"{jobs} worker(s): only {built} of {len(points)} points built")
    return wall, sum(outcome.tool_seconds for outcome in report.outcomes), built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="L=64,128,256;precision=4,6")
    parser.add_argument("--target", default="ice40-up5k")
    parser.add_argument("--clock-mhz", type=float, default=24.0)
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="pairs of runs, in alternating order (1,2 then 2,1 …); medians are compared",
    )  # fmt: skip
    args = parser.parse_args()
    walls: dict[int, list[float]] = {1: [], 2: []}
    for repeat in range(args.repeat):
        for jobs in (1, 2) if repeat % 2 == 0 else (2, 1):
            load_before = os.getloadavg()[0]
            wall, tools, built = one_run(jobs, args.grid, args.target, args.clock_mhz)
            walls[jobs].append(wall)
            print(
                f"{jobs} worker(s): {built} points in {wall:6.1f} s wall "
                f"({tools:6.1f} s inside the tools, {wall / built:5.1f} s per point; "
                f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
                f"{os.cpu_count()} cores)",
                flush=True,
            )
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    print(f"median wall: 1 worker {one:.1f} s, 2 workers {two:.1f} s")
    print(f"speed-up with 2 workers: {one / two:.2f}x (goal >= 1.7x)")


if __name__ == "__main__":
    main()
