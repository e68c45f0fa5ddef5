"""Analytical prior per FPGA family: LUTs, flip-flops, latency and power of a layer option.

- LUTs and FFs: linear in the structural features of :mod:`.features`, with
  coefficients fitted on real Yosys runs (``data/prior_<family>.json``, written by
  :mod:`.calibration`). A family without that file has no prior: an error, not a guess.
- Latency: exact, from the architecture (``stochflow.hdl.rtl_network``):
  ``stream``: ``(L + N - 1) · max_k F_k + 1``; ``regenerate``: ``Σ_k L_k · F_k + 1``.
- Power: ``dynamic = LUTs · f_clk · c_lut · activity`` per layer plus a clock-tree term
  ``f_clk · c_clk`` and the target's cited static power, with ``c_lut``, ``c_clk`` from a
  cited measurement stored in the family's prior file. Families without one have no
  power prior.

Every figure from here is labelled ``prior:<family>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl.config import NetworkConfig

from .features import FEATURES, layer_feature_matrix
from .space import LayerSpace

DATA_DIR = Path(__file__).resolve().parent / "data"
PRIOR_SCHEMA = "stochflow.prior/1"
FAMILIES: tuple[str, ...] = ("ice40", "ecp5", "xilinx7", "intel")
# Target registry families (stochflow.flow.targets) → prior family.
TARGET_FAMILIES: dict[str, str] = {
    "ice40": "ice40",
    "ecp5": "ecp5",
    "artix7": "xilinx7",
    "kintex7": "xilinx7",
    "spartan7": "xilinx7",
    "zynq7": "xilinx7",
    "xilinx7": "xilinx7",
    "cyclone5": "intel",
    "cyclone10lp": "intel",
    "cyclone4": "intel",
    "max10": "intel",
    "intel": "intel",
}


class PriorUnavailable(LookupError):
    """No calibrated prior (or no cited power coefficients) exists for what was asked."""


def prior_family(target_family: str) -> str:
    try:
        return TARGET_FAMILIES[target_family]
    except KeyError:
        raise PriorUnavailable(
            f"no prior family for target family {target_family!r}; known: "
            f"{', '.join(sorted(TARGET_FAMILIES))}"
        ) from None


@dataclass(frozen=True)
class PowerCoefficients:
    lut_uw_per_mhz: float
    clock_uw_per_mhz: float
    source: str


@dataclass(frozen=True)
class PriorCalibration:
    """Fitted coefficients of one family and where they came from."""

    family: str
    lut: np.ndarray
    ff: np.ndarray
    tool: str
    date: str
    power: PowerCoefficients | None
    path: Path

    @classmethod
    def from_record(cls, record: Mapping[str, Any], path: Path) -> PriorCalibration:
        if record.get("schema") != PRIOR_SCHEMA:
            raise PriorUnavailable(f"{path}: expected schema {PRIOR_SCHEMA}, got {record.get('schema')!r}")
        names = list(record["features"])
        if names != list(FEATURES):
            raise PriorUnavailable(
                f"{path}: fitted on features {names}, this version uses {list(FEATURES)}; "
                "run bench/calibrate_prior.py again"
            )
        power = record.get("power")
        return cls(
            family=record["family"],
            lut=np.array([record["coefficients"]["lut"][n] for n in names]),
            ff=np.array([record["coefficients"]["ff"][n] for n in names]),
            tool=f"{record['tool']['name']} {record['tool']['version']}",
            date=record["date"],
            power=(
                PowerCoefficients(power["lut_uw_per_mhz"], power["clock_uw_per_mhz"], power["source"])
                if power
                else None
            ),
            path=path,
        )


@cache
def load_calibration(family: str, data_dir: Path = DATA_DIR) -> PriorCalibration:
    """The stored calibration of ``family`` (``data/prior_<family>.json``)."""
    if family not in FAMILIES:
        raise PriorUnavailable(f"unknown prior family {family!r}; expected {', '.join(FAMILIES)}")
    path = Path(data_dir) / f"prior_{family}.json"
    if not path.is_file():
        raise PriorUnavailable(
            f"no calibrated prior for {family} ({path} is missing); run bench/calibrate_prior.py"
        )
    return PriorCalibration.from_record(json.loads(path.read_text()), path)


def compute_cycles(config: NetworkConfig) -> int:
    """Cycles from the start edge to the last commit (as ``hdl.rtl_network``)."""
    layers = config.layers
    if config.architecture == "stream":
        return (layers[0].bitstream_length + len(layers) - 1) * max(lay.fold_cycles for lay in layers)
    return sum(layer.bitstream_length * layer.fold_cycles for layer in layers)


def latency_cycles(config: NetworkConfig) -> int:
    """Exact latency: start edge to the first edge that samples ``done = 1``."""
    return compute_cycles(config) + 1


@dataclass(frozen=True)
class LayerEstimate:
    """Prior estimates of every option of one layer (arrays over options)."""

    luts: np.ndarray
    ffs: np.ndarray
    dynamic_power_mw: np.ndarray | None  # None: no power prior for this family/clock


@dataclass
class AnalyticalPrior:
    """The family's prior, bound to a clock frequency and a target's static power.

    ``clock_mhz`` and a static-power figure are needed for power; without them power is
    absent. ``activity`` scales the dynamic term relative to the coefficient's own
    measurement (1.0: logic toggling like the cited high-activity design).
    """

    calibration: PriorCalibration
    clock_mhz: float | None = None
    static_power_w: float | None = None
    static_source: str | None = None
    activity: float = 1.0

    @property
    def family(self) -> str:
        return self.calibration.family

    @property
    def source(self) -> str:
        return f"prior:{self.family}"

    @property
    def has_power(self) -> bool:
        return (
            self.calibration.power is not None
            and self.clock_mhz is not None
            and self.static_power_w is not None
        )

    def power_unavailable_reason(self) -> str:
        if self.calibration.power is None:
            return f"no cited dynamic-power coefficients for family {self.family}"
        if self.clock_mhz is None:
            return "no clock frequency given (--clock-mhz)"
        return "the target has no cited static-power figure"

    def layer(self, space: LayerSpace, threshold: int | None = None) -> LayerEstimate:
        features = layer_feature_matrix(space, threshold)
        return self.from_features(features)

    def from_features(self, features: np.ndarray) -> LayerEstimate:
        dynamic = self.metric_values(features, "power_mw") if self.has_power else None
        return LayerEstimate(self.metric_values(features, "lut"), self.metric_values(features, "ff"),
                             dynamic)

    def metric_values(self, features: np.ndarray, metric: str) -> np.ndarray:
        """One metric's prior for feature rows: ``lut``, ``ff`` or ``power_mw`` (dynamic)."""
        if metric == "ff":
            return np.maximum(features @ self.calibration.ff, 1.0)
        luts = np.maximum(features @ self.calibration.lut, 1.0)
        if metric == "lut":
            return luts
        if metric != "power_mw":
            raise ValueError(f"unknown metric {metric!r}; expected lut, ff or power_mw")
        if not self.has_power:
            raise PriorUnavailable(self.power_unavailable_reason())
        assert self.calibration.power is not None and self.clock_mhz is not None
        return luts * self.clock_mhz * self.calibration.power.lut_uw_per_mhz * self.activity / 1000.0

    def network_power_mw(self) -> float:
        """Power that does not depend on the options: static plus the clock tree."""
        if not self.has_power:
            raise PriorUnavailable(self.power_unavailable_reason())
        assert self.calibration.power is not None and self.clock_mhz is not None
        assert self.static_power_w is not None
        return self.static_power_w * 1000.0 + self.clock_mhz * self.calibration.power.clock_uw_per_mhz / 1000.0

    @property
    def power_source(self) -> str:
        power = self.calibration.power
        parts = [self.source]
        if power is not None:
            parts.append(f"dynamic: {power.source}")
        if self.static_source:
            parts.append(f"static: {self.static_source}")
        return "; ".join(parts)


def network_features(config: NetworkConfig, thresholds: Sequence[int | None] | None = None) -> np.ndarray:
    """Summed feature row of a whole network (for observations of built designs)."""
    from .features import config_feature_row

    rows = [
        config_feature_row(
            layer, index, config.architecture, index == len(config.layers) - 1,
            None if thresholds is None else thresholds[index],
        )
        for index, layer in enumerate(config.layers)
    ]
    return np.sum(rows, axis=0)
