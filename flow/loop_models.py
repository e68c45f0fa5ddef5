"""The surrogate as the loop fits it each round: prior, activity, learned residuals, space.

Two things differ from ``stochflow optimise``:

- The prior's dynamic power assumes logic toggling like the high-activity block its
  coefficient was measured on. Once the loop has simulated designs, it knows their
  mean toggle rate α (``sim:verilator`` toggle coverage), and on a target with a cited
  activity model (``model:ice40-activity``) the per-cell power at that α is
  ``VCC·(a_idle + a_toggle·α)``; the prior's ``activity`` is set to that over its own
  per-LUT coefficient. The learned residual then corrects what is left.
- With a power budget on a target whose activity model has no coefficient for block
  RAM, options that put a weight ROM in block RAM (``weight_memory = "block"``) can
  never be shown to meet the budget, so they are dropped before solving.

As everywhere (:func:`stochflow.surrogate.learned.fit_metric_model`), a metric measured
once or twice scales the prior by the geometric mean of measured / prior
(``prior:<family>×<n> measured``); from three measurements a Gaussian process learns
the residual.

On iCE40 the device fills up in logic cells (``lc``: a LUT4, a flip-flop and a carry
per cell), not in LUTs, so a design within a LUT budget may still not fit. The loop
learns the cells per LUT the same way (prior LUTs × a learned residual, from every
build: placed designs state their cells, a design that did not fit states the cells it
needed in nextpnr's log) and adds "predicted cells ≤ the device's" to the LUT column the
selector constrains (:func:`apply_fit_constraint`). A build that did not fit also
measured its LUTs in Yosys's report (``tool:yosys``); those counts join the LUT model's
training data, so the model learns how large the designs it proposed were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.surrogate.features import layer_feature_matrix
from stochflow.surrogate.learned import (
    MIN_OBSERVATIONS,
    ConstantResidual,
    MetricModel,
    Prediction,
    ResidualRegressor,
    descriptors,
    observation_config,
)
from stochflow.surrogate.observation import Figure, Observation, ResourceFigure
from stochflow.surrogate.optimise import Models, TargetInfo, fit_models
from stochflow.surrogate.prior import (
    load_calibration,
    network_features,
    prior_family,
)
from stochflow.surrogate.selector import Problem

from .errors import FlowError, UsageError
from .loop_select import drop_options

__all__ = [
    "FitConstraint",
    "PriorActivity",
    "apply_fit_constraint",
    "block_ram_unpriced",
    "drop_block_ram",
    "fit_constraint",
    "fit_loop_models",
    "prior_activity",
    "yosys_lut_observation",
]


@dataclass(frozen=True)
class PriorActivity:
    """The prior's activity factor and the measurement it comes from."""

    factor: float
    toggle_rate: float
    designs: int
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"factor": self.factor, "toggle_rate": self.toggle_rate, "designs": self.designs,
                "source": self.source}


def prior_activity(target: str, family: str, toggle_rates: Sequence[float]) -> PriorActivity | None:
    """The prior's activity at the measured mean toggle rate (None: nothing to scale by)."""
    from .power_model import ActivityPowerModel

    if not toggle_rates:
        return None
    calibration = load_calibration(prior_family(family))
    if calibration.power is None:
        return None
    try:
        model = ActivityPowerModel(target)
        model.check()
    except (UsageError, FlowError):
        return None
    values = {name: cited.value for name, cited in model.coefficients.coefficients().items()}
    alpha = float(np.mean(toggle_rates))
    per_cell_uw_per_mhz = (values["supply_v"] * (values["lc_idle_a_per_mhz"]  # type: ignore[operator]
                                                 + values["lc_toggle_a_per_mhz"] * alpha) * 1e6)  # type: ignore[operator]
    return PriorActivity(
        factor=per_cell_uw_per_mhz / calibration.power.lut_uw_per_mhz,
        toggle_rate=alpha,
        designs=len(toggle_rates),
        source=f"sim:verilator toggles; {model.name} per-cell coefficients",
    )


def fit_loop_models(
    target: TargetInfo,
    observations: Sequence[Observation],
    *,
    clock_mhz: float | None,
    activity: PriorActivity | None = None,
    interval_confidence: float = 0.9,
) -> Models:
    """:func:`stochflow.surrogate.optimise.fit_models` with the prior at the measured activity."""
    return fit_models(target, observations, clock_mhz=clock_mhz,
                      interval_confidence=interval_confidence,
                      activity=1.0 if activity is None else activity.factor)


def block_ram_unpriced(target: str) -> bool:
    """Whether the target's activity power model refuses designs that use block RAM."""
    from .power_model import ActivityPowerModel

    try:
        model = ActivityPowerModel(target)
    except (UsageError, FlowError):
        return False
    return "bram" in model.coefficients.unpriced


def drop_block_ram(problem: Problem) -> Problem:
    """Only the options whose weight ROM (if any) stays out of block RAM."""
    return drop_options(problem, [~layer.space.memory_mask for layer in problem.layers])


# Families whose placer's capacity is counted in a resource other than ``lut``.
FIT_RESOURCES: dict[str, str] = {"ice40": "lc"}
_NEXTPNR_CELLS = re.compile(r"^Info:\s+ICESTORM_LC:\s+(\d+)/\s*(\d+)\s+\d+%\s*$", re.M)


def yosys_lut_observation(
    design_json: Path, build_dir: Path, target: Any
) -> Observation | None:
    """A training-only observation of a build that did not fit: the LUTs Yosys counted and
    the logic cells nextpnr said it needed. It is never stored: nothing was placed.
    """
    from stochflow.parsers.report import ReportError

    from .design_file import load_design
    from .report_resources import canonical_resources
    from .synth_reports import read_stat

    stat_path = build_dir / "stat.json"
    if not stat_path.is_file():
        return None
    try:
        stat = read_stat(stat_path)
        resources = canonical_resources(stat, [], target)
        design = load_design(design_json)
    except (ReportError, UsageError, FlowError, OSError):
        return None
    lut = resources.get("lut")
    if lut is None or lut.used <= 0:
        return None
    counted = {"lut": ResourceFigure(lut.used, None, lut.source)}
    log = build_dir / "nextpnr.log"
    if log.is_file():
        needed = _NEXTPNR_CELLS.findall(log.read_text(encoding="utf-8", errors="replace"))
        if needed:
            used, available = needed[-1]
            counted["lc"] = ResourceFigure(float(used), float(available), "tool:nextpnr")
    return Observation(
        design_hash=design.design_hash,
        design_name=design.name,
        architecture=design.architecture,
        layers=design.layers,
        target=target.name,
        device=target.device_label,
        tools={"yosys": stat.tool_version},
        latency_cycles=Figure(design.latency_cycles, "design:latency"),
        resources=counted,
    )


class _CellsFromLuts(MetricModel):
    """Logic cells as the prior's LUTs times a learned residual."""

    def prior_values(self, features: np.ndarray, network_level: bool = False) -> np.ndarray:
        return self.prior.from_features(np.atleast_2d(features)).luts

    @property
    def source(self) -> str:
        kind = "predicted:gp" if isinstance(self.regressor, ResidualRegressor) else "scaled"
        return f"{kind} cells/LUT × {self.prior.source} ({self.training_points} measured)"


@dataclass(frozen=True)
class FitConstraint:
    """Predicted placer cells must stay within the device's ``capacity``."""

    resource: str
    capacity: float
    model: MetricModel

    def predict(self, features: np.ndarray, confidence: float) -> Prediction:
        return self.model.predict(features, confidence)

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "capacity": self.capacity, "source": self.model.source,
                "measured": self.model.training_points}


def fit_constraint(
    target: Any, models: Models, observations: Sequence[Observation], interval_confidence: float
) -> FitConstraint | None:
    """The cells model of a target whose capacity is not in LUTs (None: none needed or no
    measurement yet)."""
    resource = FIT_RESOURCES.get(target.family)
    if resource is None:
        return None
    rows, priors, values, capacity = [], [], [], None
    for observation in observations:
        figure = observation.resources.get(resource)
        if observation.target != target.name or figure is None or figure.used <= 0:
            continue
        capacity = figure.available or capacity
        config, thresholds = observation_config(observation)
        features = network_features(config, thresholds)
        rows.append(features)
        priors.append(float(models.prior.from_features(features[None, :]).luts[0]))
        values.append(figure.used)
    if not values or capacity is None:
        return None
    sigma = models.lut.prior_log_sigma
    residuals = np.log(values) - np.log(priors)
    regressor: Any
    if len(values) >= MIN_OBSERVATIONS:
        regressor = ResidualRegressor().fit(descriptors(np.array(rows), np.array(priors)), residuals)
    else:
        regressor = ConstantResidual(float(np.mean(residuals)), sigma)
    model = _CellsFromLuts(resource, models.prior, regressor, sigma, interval_confidence, len(values))
    return FitConstraint(resource, float(capacity), model)


def apply_fit_constraint(problem: Problem, fit: FitConstraint) -> Problem:
    """The problem with "cells ≤ capacity" folded into the LUT column the selector constrains.

    The column becomes ``max(LUT bound, cell bound × B / capacity)`` per option, with ``B``
    the LUT budget (the capacity itself when there is none): a choice whose column sums to
    at most ``B`` meets both limits. The LUT figures reported stay the LUT model's.
    """
    from dataclasses import replace

    budget = problem.budget
    limit = budget.luts if budget.luts is not None else fit.capacity
    scale = limit / fit.capacity
    layers = []
    for layer in problem.layers:
        cells = fit.predict(layer_feature_matrix(layer.space), problem.confidence)
        lut_bound = layer.luts.upper if budget.luts is not None else np.zeros_like(cells.upper)
        column = np.maximum(lut_bound, cells.upper * scale)
        layers.append(replace(layer, luts=replace(layer.luts, upper=column)))
    return Problem(problem.config, layers, budget.with_value("luts", limit), problem.confidence,
                   problem.power_constant_mw, problem.power_reason, problem.architecture)
