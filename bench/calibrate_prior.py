"""Calibrate the analytical LUT/FF prior on real Yosys runs of generated layers.

    python bench/calibrate_prior.py [--families ice40 ecp5 xilinx7 intel] [--count 56]
                                    [--jobs 2] [--workdir build/calibrate]

Writes ``surrogate/data/prior_<family>.json`` (tool version, date, grid, measured counts,
coefficients, fit quality) and prints the fit quality per family.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from stochflow.surrogate.calibration import calibrate, calibration_grid
from stochflow.surrogate.prior import FAMILIES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--count", type=int, default=56, help="grid size (designs per family)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    console = Console()
    grid = calibration_grid(args.count)
    total = len(grid) * len(args.families)
    done = [0]

    def progress(message: str) -> None:
        done[0] += 1
        console.print(f"[{done[0]}/{total}] {message}")

    written = calibrate(args.families, grid, workdir=args.workdir, jobs=args.jobs, progress=progress)
    table = Table(title="prior fit (non-negative least squares on Yosys counts)")
    for column in ("family", "metric", "RMSE", "R²", "LOO MAPE", "file"):
        table.add_column(column)
    for family, path in written.items():
        record = json.loads(path.read_text())
        for metric, fit in record["fit"].items():
            table.add_row(family, metric, f"{fit['rmse']:.1f}", f"{fit['r2']:.3f}",
                          f"{fit['loo_mape']:.1%}", str(path))
    console.print(table)


if __name__ == "__main__":
    main()
