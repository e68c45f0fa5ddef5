"""Residual models on measured points: estimator API, positive predictions, CV report."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from stochflow.surrogate.learned import (
    ResidualRegressor,
    fit_metric_model,
    observation_config,
    training_set,
)
from stochflow.surrogate.optimise import TargetInfo, calibration_log_sigma, fit_models
from stochflow.surrogate.prior import AnalyticalPrior, load_calibration
from stochflow.surrogate.report import InsufficientEvidence, cross_validate
from test_surrogate_helpers import recorded_observations


def test_regressor_follows_the_estimator_api() -> None:
    model = ResidualRegressor(length_scale=2.0)
    assert model.get_params()["length_scale"] == 2.0
    twin = clone(model)
    X = np.random.default_rng(0).normal(size=(12, 3))
    y = X[:, 0] * 0.1
    mean, std = twin.fit(X, y).predict(X, return_std=True)
    assert mean.shape == std.shape == (12,) and np.all(std > 0)
    with pytest.raises(ValueError):
        ResidualRegressor().fit(X, y[:5])


def test_learned_model_on_measured_points_predicts_positive_with_intervals() -> None:
    # ECP5 counts residualised on the iCE40 prior: a real, systematic residual to learn.
    observations = recorded_observations("ecp5", target="ice40-up5k")
    prior = AnalyticalPrior(load_calibration("ice40"))
    model = fit_metric_model(observations, prior, "lut", 0.2)
    assert model.source == "predicted:gp" and model.training_points == len(observations)
    features, _, measured = training_set(observations, prior, "lut")
    prediction = model.predict(features, 0.9, network_level=True)
    assert np.all(prediction.value > 0) and np.all(prediction.low <= prediction.value)
    assert np.all(prediction.value <= prediction.high)
    assert np.median(np.abs(prediction.value - measured) / measured) < 0.25


def test_cross_validation_report_and_too_few_points() -> None:
    observations = recorded_observations("ecp5", target="ecp5-25k")
    prior = AnalyticalPrior(load_calibration("ecp5"))
    report = cross_validate(observations, prior, "ecp5-25k", "lut", 0.9)
    assert report.observations == len(observations) and report.folds == "5-fold"
    assert 0 <= report.mape < 0.5 and report.r2 > 0.5 and 0 <= report.coverage <= 1
    with pytest.raises(InsufficientEvidence, match="needs at least"):
        cross_validate(observations[:3], prior, "ecp5-25k", "lut")


def test_fit_models_uses_only_the_targets_observations() -> None:
    observations = recorded_observations("ice40")
    target = TargetInfo("ice40-up5k", "ice40")
    models = fit_models(target, observations)
    assert models.lut.source == "predicted:gp" and models.power is None
    other = fit_models(TargetInfo("ice40-hx8k", "ice40"), observations)
    assert other.lut.source == "prior:ice40"
    assert 0 < calibration_log_sigma(load_calibration("ice40").path)["lut"] < 1


def test_a_measured_design_reports_its_measured_totals() -> None:
    from stochflow.hdl.config import NetworkConfig
    from stochflow.surrogate.accuracy import StreamErrorModel
    from stochflow.surrogate.optimise import apply_measurements, build_problem
    from stochflow.surrogate.selector import Budget, select
    from stochflow.surrogate.space import SpaceLimits

    observations = recorded_observations("ice40")
    observed = observations[1]
    config, _ = observation_config(observed)
    layer = config.layers[0]
    config = NetworkConfig(config.name, tuple(lay.with_knobs(threshold=None) for lay in config.layers),
                           config.architecture)
    assert len(config.layers) == 1
    limits = SpaceLimits(
        lengths=(layer.bitstream_length,), precisions=(layer.precision,),
        rng_kinds=(layer.weight_rng.kind,), widths=(layer.weight_rng.width,), lfsr_seeds=1,
        decorrelations=(layer.weight_rng.decorrelation,), foldings=(layer.folding,),
        weight_memories=(layer.weight_memory,),
    )
    target = TargetInfo("ice40-up5k", "ice40")
    problem = build_problem(config, fit_models(target), Budget(luts=1e9), StreamErrorModel(), limits=limits)
    # The space's only source becomes the observed one, seeds included.
    for options in problem.layers:
        variants = tuple(type(v)(layer.weight_rng, layer.input_rng) for v in options.space.variants)
        object.__setattr__(options.space, "variants", variants)
    selection = select(problem)
    apply_measurements(selection, [observed], target)
    assert selection.totals["luts"]["source"] == "tool:yosys"
    assert selection.totals["luts"]["value"] == observed.resources["lut"].used


def test_intervals_are_never_narrower_than_the_gp_and_widen_on_surprises() -> None:
    from scipy.stats import norm

    rng = np.random.default_rng(3)
    X = rng.normal(size=(14, 2))
    smooth = ResidualRegressor().fit(X, 0.1 * X[:, 0])
    assert smooth.quantile(0.9, two_sided=True) >= norm.ppf(0.95)
    assert smooth.quantile(0.9, two_sided=False) >= norm.ppf(0.9)
    # Heavy-tailed residuals: held-out errors far beyond the GP's own deviation.
    y = 0.1 * X[:, 0] + np.where(rng.random(14) < 0.3, rng.normal(0, 0.5, 14), 0.0)
    rough = ResidualRegressor().fit(X, y)
    assert rough.interval_scale_ >= 1.0 and len(rough.cv_residuals_) == 14


def test_cross_validated_coverage_is_near_the_stated_confidence() -> None:
    """Held-out designs of the recorded calibration runs fall inside the 90 % intervals."""
    observations = recorded_observations("ice40")
    prior = AnalyticalPrior(load_calibration("ice40"))
    report = cross_validate(observations, prior, "ice40-up5k", "lut", 0.9)
    assert report.coverage >= 0.8
