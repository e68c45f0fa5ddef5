"""The best design already measured within the budget, as the selector's answer.

The selector constrains predicted resources on their upper confidence bound, so with
little evidence it may find nothing, or only worse designs, where a design that was
built has already shown by measurement that it meets every budget. ``stochflow
optimise --evidence`` then answers with that design (its measured figures as totals),
as the closed loop does: a measured point uses its measured value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from stochflow.surrogate.learned import measured_value, observation_config
from stochflow.surrogate.observation import Observation
from stochflow.surrogate.optimise import TargetInfo, apply_measurements
from stochflow.surrogate.selector import Budget, Problem, Selection

from .loop_select import locate_config, materialise

__all__ = ["MeasuredChoice", "best_measured", "measured_within"]

# The error of one layer option: (layer index, option index) → error.
LayerError = Callable[[int, int], float]


@dataclass(frozen=True)
class MeasuredChoice:
    """A measured design within the budget: its selection, objective and observation."""

    selection: Selection
    objective: float
    observation: Observation


def measured_within(observation: Observation, budget: Budget) -> bool:
    """Whether every budgeted figure was measured and is within its limit."""
    figures = {
        "luts": measured_value(observation, "lut"),
        "power_mw": measured_value(observation, "power_mw"),
        "latency_cycles": float(observation.latency_cycles.value),
    }
    for key, limit in budget.items():
        value = figures.get(key)
        if value is None or value > limit * (1 + 1e-9):
            return False
    return True


def best_measured(
    problem: Problem, observations: Sequence[Observation], target: TargetInfo,
    layer_error: LayerError | None = None,
) -> MeasuredChoice | None:
    """The measured design within ``problem.budget`` with the smallest objective (the sum of
    its layers' errors, ``layer_error`` or the problem's own), among designs of the
    problem's space (None: none)."""
    error = layer_error or (lambda k, option: float(problem.layers[k].error[option]))
    best: tuple[float, str, list[int], Observation] | None = None
    shapes = [(layer.n_in, layer.n_out) for layer in problem.config.layers]
    for observation in observations:
        if observation.target != target.name or not measured_within(observation, problem.budget):
            continue
        try:
            config, _ = observation_config(observation)
        except Exception:  # a record this version cannot rebuild is not a candidate
            continue
        if (config.architecture != problem.architecture
                or [(layer.n_in, layer.n_out) for layer in config.layers] != shapes):
            continue
        options = locate_config(problem, config)
        if options is None:
            continue
        objective = float(np.sum([error(k, option) for k, option in enumerate(options)]))
        candidate = (objective, observation.design_hash, options, observation)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    if best is None:
        return None
    objective, _, options, observation = best
    selection = materialise(problem, options)
    apply_measurements(selection, [observation], target)
    selection.slack = {key: limit - float(selection.totals[key]["upper_bound"])
                       for key, limit in problem.budget.items() if key in selection.totals}
    selection.feasible = True
    selection.objective = objective
    selection.binding = []
    return MeasuredChoice(selection, objective, observation)
