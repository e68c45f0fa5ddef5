"""From a network, a target and budgets to a selection and ``choice.json``.

This module joins the pieces: design space, accuracy proxy, prior, learned residuals and
the selector. It takes the target as a plain :class:`TargetInfo` and observations as
objects, so it never imports :mod:`stochflow.flow` (the CLI passes them in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from stochflow import __version__
from stochflow.hdl.config import NetworkConfig

from .accuracy import AccuracyModel
from .features import cost_rows, layer_feature_matrix
from .learned import (
    MetricModel,
    Prediction,
    fit_metric_model,
    measured_source,
    measured_value,
    observation_config,
)
from .observation import Observation
from .prior import AnalyticalPrior, load_calibration, prior_family
from .selector import Budget, LayerOptions, Problem, Selection, select
from .space import LayerSpace, SpaceLimits, network_space

CHOICE_SCHEMA = "stochflow.choice/1"
# Per-layer keys of choice.json that describe the choice rather than set a knob.
CHOICE_METADATA_KEYS: tuple[str, ...] = (
    "id", "fold_cycles", "error", "luts", "ffs", "power_mw", "latency_cycles",
)


@dataclass(frozen=True)
class TargetInfo:
    """What the surrogate needs of a target (filled from ``stochflow.flow.targets``)."""

    name: str
    family: str  # the registry's family, e.g. "ice40", "artix7", "cyclone5"
    static_power_w: float | None = None
    static_source: str | None = None


@dataclass
class Models:
    prior: AnalyticalPrior
    lut: MetricModel
    ff: MetricModel
    power: MetricModel | None


def fit_models(
    target: TargetInfo,
    observations: Sequence[Observation] = (),
    *,
    clock_mhz: float | None = None,
    interval_confidence: float = 0.9,
    activity: float = 1.0,
) -> Models:
    """The family's prior plus residual models fitted on this target's observations.

    ``activity`` scales the prior's dynamic power (1: the logic its coefficient was
    measured on); with one or two measurements of a metric the prior is scaled by them,
    from three on a residual regressor is learned (:func:`fit_metric_model`).
    """
    calibration = load_calibration(prior_family(target.family))
    prior = AnalyticalPrior(calibration, clock_mhz, target.static_power_w, target.static_source,
                            activity=activity)
    mine = [o for o in observations if o.target == target.name]
    sigma = calibration_log_sigma(calibration.path)
    lut = fit_metric_model(mine, prior, "lut", sigma["lut"], interval_confidence)
    ff = fit_metric_model(mine, prior, "ff", sigma["ff"], interval_confidence)
    power = (
        fit_metric_model(mine, prior, "power_mw", sigma["lut"], interval_confidence)
        if prior.has_power
        else None
    )
    return Models(prior, lut, ff, power)


def calibration_log_sigma(path: Any) -> dict[str, float]:
    """Leave-one-out RMS of log(measured / fitted) on the calibration grid, per metric."""
    return _log_sigma_cached(str(path))


def _log_sigma_from_record(record: dict[str, Any]) -> dict[str, float]:
    from .calibration import fit_nonnegative

    names = record["features"]
    features = np.array([[e["features"][n] for n in names] for e in record["grid"]])
    out = {}
    for metric in ("lut", "ff"):
        measured = np.array([e["measured"][metric] for e in record["grid"]])
        logs = []
        for i in range(len(measured)):
            keep = np.arange(len(measured)) != i
            coef, _ = fit_nonnegative(features[keep], measured[keep])
            fitted = max(float(features[i] @ coef), 1.0)
            logs.append(np.log(max(measured[i], 1.0) / fitted))
        out[metric] = float(np.sqrt(np.mean(np.square(logs))))
    return out


_SIGMA_CACHE: dict[str, dict[str, float]] = {}


def _log_sigma_cached(path: str) -> dict[str, float]:
    import json

    if path not in _SIGMA_CACHE:
        with open(path) as stream:
            _SIGMA_CACHE[path] = _log_sigma_from_record(json.load(stream))
    return _SIGMA_CACHE[path]


def build_problem(
    config: NetworkConfig,
    models: Models,
    budget: Budget,
    accuracy: AccuracyModel,
    *,
    limits: SpaceLimits | None = None,
    confidence: float = 0.9,
    thresholds: Sequence[int | None] | None = None,
) -> Problem:
    """Enumerate, score and predict every option of every layer."""
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence: expected 0.5 ≤ c < 1, got {confidence}")
    spaces = network_space(config, limits or SpaceLimits())
    layers = [
        score_layer(space, models, accuracy.layer_errors(space), accuracy.source, confidence,
                    None if thresholds is None else thresholds[k])
        for k, space in enumerate(spaces)
    ]
    power_constant = models.prior.network_power_mw() if models.power is not None else None
    return Problem(
        config=config,
        layers=layers,
        budget=budget,
        confidence=confidence,
        power_constant_mw=power_constant,
        power_reason=None if models.power is not None else models.prior.power_unavailable_reason(),
    )


def score_layer(
    space: LayerSpace,
    models: Models,
    error: np.ndarray,
    error_source: str,
    confidence: float,
    threshold: int | None = None,
) -> LayerOptions:
    """One layer's options with predicted costs: the models run once per distinct feature row."""
    rows, inverse = cost_rows(space)
    features = layer_feature_matrix(rows, threshold)

    def predicted(model: MetricModel) -> Prediction:
        return model.predict(features, confidence).take(inverse)

    return LayerOptions(
        space=space,
        error=error,
        error_source=error_source,
        luts=predicted(models.lut),
        ffs=predicted(models.ff),
        power=predicted(models.power) if models.power is not None else None,
        cost_row=inverse,
    )


def _knob_key(layer: Any) -> tuple[Any, ...]:
    """What identifies a layer's hardware apart from weights and quantisation results."""
    return (layer.n_in, layer.n_out, layer.bitstream_length, layer.precision, layer.weight_rng,
            layer.input_rng, layer.folding, layer.weight_memory, layer.leak, layer.membrane_init)


def _same_knobs(observation: Observation, config: NetworkConfig) -> bool:
    try:
        observed, _ = observation_config(observation)
    except Exception:  # a record this version cannot rebuild is not a match
        return False
    return observed.architecture == config.architecture and [
        _knob_key(layer) for layer in observed.layers
    ] == [_knob_key(layer) for layer in config.layers]


def apply_measurements(selection: Selection, observations: Sequence[Observation], target: TargetInfo) -> None:
    """A chosen design that was built and measured reports its measured totals."""
    if selection.config is None:
        return
    for observation in observations:
        if observation.target != target.name or not _same_knobs(observation, selection.config):
            continue
        for key, metric in (("luts", "lut"), ("ffs", "ff"), ("power_mw", "power_mw")):
            value = measured_value(observation, metric)
            if value is not None:
                selection.totals[key] = {
                    "value": value, "interval": [value, value], "upper_bound": value,
                    "source": measured_source(observation, metric),
                    "design_hash": observation.design_hash,
                }
        return


def choice_document(selection: Selection, target: TargetInfo, network_name: str) -> dict[str, Any]:
    """The content of ``choice.json`` (``stochflow generate --choice`` reads it)."""
    layers = []
    for choice in selection.choices:
        knobs = choice.knobs
        weight = dict(knobs["weight_rng"])
        entry: dict[str, Any] = {
            "id": choice.name,
            "name": choice.name,
            "index": choice.index,
            "bitstream_length": knobs["bitstream_length"],
            "precision": knobs["precision"],
            "folding": knobs["folding"],
            "weight_memory": knobs["weight_memory"],
            "rng": weight.pop("kind"),
            "polynomial": weight.pop("polynomial", None),
            "seed": weight.pop("seed"),
            "decorrelation": weight.pop("decorrelation"),
            **weight,  # width, structure (LFSR), dimension (Sobol), allow
        }
        if knobs["input_rng"] is not None:
            entry["input_rng"] = knobs["input_rng"]
        entry.update({
            "fold_cycles": knobs["fold_cycles"],
            "error": {"value": choice.error, "source": choice.error_source},
            "luts": choice.metrics["luts"],
            "ffs": choice.metrics["ffs"],
            "power_mw": choice.metrics.get("power_mw"),
            "latency_cycles": choice.metrics["latency_cycles"],
        })
        layers.append(entry)
    return {
        "schema": CHOICE_SCHEMA,
        "generator": {"name": "stochflow", "version": __version__},
        "network": network_name,
        "target": target.name,
        "architecture": selection.architecture,
        "feasible": selection.feasible,
        "confidence": selection.confidence,
        "objective": {"value": selection.objective, "meaning": "sum of per-layer error proxies"},
        "layers": layers,
        "totals": {k: v for k, v in selection.totals.items() if k in ("luts", "ffs", "power_mw", "latency_cycles")},
        "budget": selection.budget.to_json(),
        "binding": selection.binding,
        "slack": selection.slack,
        "increases": selection.increases,
        "unplaceable": selection.unplaceable,
    }


def optimise_network(
    config: NetworkConfig,
    target: TargetInfo,
    budget: Budget,
    accuracy: AccuracyModel,
    *,
    observations: Sequence[Observation] = (),
    limits: SpaceLimits | None = None,
    confidence: float = 0.9,
    clock_mhz: float | None = None,
    thresholds: Sequence[int | None] | None = None,
) -> Selection:
    models = fit_models(target, observations, clock_mhz=clock_mhz)
    problem = build_problem(config, models, budget, accuracy, limits=limits,
                            confidence=confidence, thresholds=thresholds)
    selection = select(problem)
    apply_measurements(selection, observations, target)
    return selection


def candidate_options(problem: Problem, per_layer: int) -> list[np.ndarray]:
    """Options worth measuring: per layer, the union of the pruned sets of every sub-problem.

    The pruned sets are those the selector keeps under the current (model) error; each
    layer keeps at most ``per_layer`` of them, most accurate first.
    """
    from .selector import _reduce, candidates, subproblems

    keep: list[set[int]] = [set() for _ in problem.layers]
    for sub in subproblems(problem, problem.budget):
        allowed = candidates(problem, sub)
        if allowed is None:
            continue
        reduced = _reduce(problem, problem.budget, allowed)
        for k, options in enumerate(reduced.keep):
            keep[k].update(int(o) for o in options)
    out = []
    for k, layer in enumerate(problem.layers):
        options = np.array(sorted(keep[k]), dtype=np.int64)
        order = np.lexsort((options, layer.error[options]))
        out.append(np.sort(options[order][:per_layer]))
    return out


def refine_errors(problem: Problem, accuracy: AccuracyModel, per_layer: int) -> Problem:
    """Re-score the most promising options with ``accuracy`` (e.g. the golden model).

    The returned problem holds only those options, scored by ``accuracy``: a second,
    smaller exact solve over measured errors. When some layer has no option that can meet
    the budget, the problem is returned as it is: the selector then explains why.
    """
    chosen = candidate_options(problem, per_layer)
    if any(len(options) == 0 for options in chosen):
        return problem
    layers = []
    for layer, options in zip(problem.layers, chosen, strict=True):
        subset = layer.subset(options)
        layers.append(replace(subset, error=accuracy.layer_errors(subset.space),
                              error_source=accuracy.source))
    return Problem(problem.config, layers, problem.budget, problem.confidence,
                   problem.power_constant_mw, problem.power_reason, problem.architecture)
