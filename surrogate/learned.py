"""Learned correction of the prior: log(measured) − log(prior), with predictive uncertainty.

:class:`ResidualRegressor` is a scikit-learn estimator (``fit``/``predict``/
``get_params``) around a :class:`~sklearn.gaussian_process.GaussianProcessRegressor`
with kernel ``C · RBF(ARD) + White`` on standardised descriptors. Predictions are made
in log space, so ``prior · exp(residual)`` is never negative, and the GP's standard
deviation gives intervals at a stated confidence.

Descriptors (:func:`descriptors`) are computed from the structural features, so one
model serves whole built designs (observations: summed features of every layer) and
single layer options (the selector): ``log prior``, ``log1p`` of the comparator bits,
the folding logic (ROM + multiplexers), the random-source bits and the state bits.

:class:`MetricModel` binds a regressor to one metric on one target and turns it into
predictions with a median, an interval and an upper bound, each with its source:
``predicted:gp`` when a regressor was fitted on observations, else ``prior:<family>``
with the calibration's own leave-one-out log error as its spread.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from threadpoolctl import threadpool_limits

from .features import FEATURES
from .observation import Observation
from .prior import AnalyticalPrior, network_features

METRICS: tuple[str, ...] = ("lut", "ff", "power_mw")
MIN_OBSERVATIONS = 3
_GROUPS: dict[str, tuple[str, ...]] = {
    "compare": ("const_compare_bits", "var_compare_bits", "input_compare_bits"),
    "fold": ("product_mux_inputs", "rom_bits", "block_rom_bits", "slot_mux_bits",
             "accumulator_bits"),
    "source": ("lfsr_bits", "sobol_bits", "vdc_bits"),
    "state": ("membrane_bits", "counter_bits"),
}
_INDEX = {name: i for i, name in enumerate(FEATURES)}


def descriptors(features: np.ndarray, prior_value: np.ndarray) -> np.ndarray:
    """Residual-model inputs: log prior and log1p of the feature groups (rows × 5)."""
    features = np.atleast_2d(features)
    columns = [np.log(np.maximum(np.asarray(prior_value, dtype=float), 1e-9))]
    for names in _GROUPS.values():
        columns.append(np.log1p(features[:, [_INDEX[n] for n in names]].sum(axis=1)))
    return np.column_stack(columns)


class ResidualRegressor(RegressorMixin, BaseEstimator):
    """GP regression of a log residual with a predictive standard deviation.

    A GP fitted to a handful of points tends to be too sure of itself: its hyperparameters
    (length scales, noise) are fitted to those same points. :meth:`quantile` therefore
    gives interval multipliers checked on the training data: the GP is refitted without
    each of up to ``cv_folds`` folds (hyperparameters included), its held-out errors are
    divided by its own predictive deviation, and their RMS says how much wider the
    intervals must be (never narrower). A Student-t with ``n - 1`` degrees of freedom
    replaces the normal quantile because that factor is itself estimated from ``n``
    points.
    """

    def __init__(
        self, length_scale: float = 1.0, noise_level: float = 0.01, random_state: int = 0,
        cv_folds: int = 10,
    ) -> None:
        self.length_scale = length_scale
        self.noise_level = noise_level
        self.random_state = random_state
        self.cv_folds = cv_folds

    def _gp(self, dimensions: int, points: int, restarts: int) -> GaussianProcessRegressor:
        kernel = ConstantKernel(0.1, (1e-4, 1e2)) * RBF(
            length_scale=np.full(dimensions, self.length_scale), length_scale_bounds=(0.3, 1e3)
        ) + WhiteKernel(self.noise_level, (1e-6, 1.0))
        return GaussianProcessRegressor(
            kernel=kernel, normalize_y=points > 1, n_restarts_optimizer=restarts,
            random_state=self.random_state,
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> ResidualRegressor:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        self.gp_ = self._gp(X.shape[1], len(y), restarts=1)
        # Tiny matrices: threaded BLAS only adds contention. Hyperparameters at a bound are
        # expected with few points (the bounds are the model's stated limits), not news.
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gp_.fit(Z, y)
            self.cv_residuals_ = self._standardised_cv_residuals(Z, y)
        self.n_features_in_ = X.shape[1]
        spread = float(np.sqrt(np.mean(self.cv_residuals_**2))) if len(self.cv_residuals_) else 1.0
        self.interval_scale_ = max(1.0, spread)
        self.residual_rms_ = float(np.sqrt(np.mean(y**2)))
        return self

    def _standardised_cv_residuals(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(y_i - μ_-i) / σ_-i`` of every point, from GPs refitted without its fold."""
        from sklearn.model_selection import KFold

        folds = min(self.cv_folds, len(y))
        if folds < 2:
            return np.zeros(0)
        residuals = np.empty(len(y))
        for train, test in KFold(folds, shuffle=True, random_state=self.random_state).split(Z):
            gp = self._gp(Z.shape[1], len(train), restarts=0).fit(Z[train], y[train])
            mean, std = gp.predict(Z[test], return_std=True)
            residuals[test] = (y[test] - mean) / np.maximum(std, 1e-9)
        return residuals

    def quantile(self, confidence: float, two_sided: bool) -> float:
        """Multiplier of the predictive deviation for an interval at ``confidence``."""
        check_is_fitted(self, "interval_scale_")
        level = 0.5 + confidence / 2.0 if two_sided else confidence
        degrees = max(len(self.cv_residuals_) - 1, 1)
        return self.interval_scale_ * float(student_t.ppf(level, degrees))

    def predict(self, X: np.ndarray, return_std: bool = False) -> Any:
        check_is_fitted(self, "gp_")
        Z = self.scaler_.transform(np.asarray(X, dtype=float))
        with threadpool_limits(1):
            if return_std:
                mean, std = self.gp_.predict(Z, return_std=True)
                return mean, np.maximum(std, 1e-9)
            return self.gp_.predict(Z)


@dataclass(frozen=True)
class Prediction:
    """Arrays over options: median, a two-sided interval and a one-sided upper bound."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    upper: np.ndarray
    source: str

    def take(self, index: np.ndarray) -> Prediction:
        """The predictions of the options ``index`` (rows shared by several options)."""
        return Prediction(self.value[index], self.low[index], self.high[index], self.upper[index],
                          self.source)


def layer_config_from_record(record: dict[str, Any]) -> LayerConfig:
    """A LayerConfig from ``LayerConfig.to_dict()`` output (extra design.json keys ignored)."""
    fields = {k: record[k] for k in LayerConfig.__dataclass_fields__ if k in record}
    for key in ("weight_rng", "input_rng"):
        value = fields.get(key)
        if isinstance(value, dict):
            rng = {k: v for k, v in value.items() if k in RngSpec.__dataclass_fields__}
            if "allow" in rng:
                rng["allow"] = tuple(rng["allow"])
            fields[key] = RngSpec(**rng)
    return LayerConfig(**fields)


def observation_config(observation: Observation) -> tuple[NetworkConfig, list[int | None]]:
    layers = tuple(layer_config_from_record(dict(layer)) for layer in observation.layers)
    thresholds = [layer.get("threshold") for layer in observation.layers]
    config = NetworkConfig(observation.design_name if observation.design_name.isidentifier() else "observed",
                           layers, observation.architecture)  # type: ignore[arg-type]
    return config, thresholds


def measured_value(observation: Observation, metric: str) -> float | None:
    """The observation's figure for ``metric`` (None when it was not measured)."""
    if metric == "power_mw":
        return None if observation.power is None else observation.power.total_w * 1000.0
    figure = observation.resources.get(metric)
    return None if figure is None else float(figure.used)


def measured_source(observation: Observation, metric: str) -> str:
    if metric == "power_mw":
        assert observation.power is not None
        return observation.power.source
    return observation.resources[metric].source


@dataclass
class MetricModel:
    """One metric on one target: prior × exp(learned residual), or the prior alone."""

    metric: str
    prior: AnalyticalPrior
    regressor: ResidualRegressor | None
    prior_log_sigma: float
    interval_confidence: float = 0.9
    training_points: int = 0

    @property
    def source(self) -> str:
        return "predicted:gp" if self.regressor is not None else self.prior.source

    def prior_values(self, features: np.ndarray, network_level: bool = False) -> np.ndarray:
        values = self.prior.metric_values(np.atleast_2d(features), self.metric)
        if self.metric == "power_mw" and network_level:
            return values + self.prior.network_power_mw()
        return values

    def predict(self, features: np.ndarray, confidence: float, network_level: bool = False) -> Prediction:
        base = self.prior_values(features, network_level)
        z_interval = norm.ppf(0.5 + self.interval_confidence / 2.0)
        z_upper = norm.ppf(confidence)
        if self.regressor is None:
            # One spread for every option: scale the prior instead of exp(log(·)).
            sigma = self.prior_log_sigma
            return Prediction(
                value=base,
                low=base * math.exp(-z_interval * sigma),
                high=base * math.exp(z_interval * sigma),
                upper=base * math.exp(z_upper * sigma),
                source=self.source,
            )
        mean, std = self.regressor.predict(descriptors(features, base), return_std=True)
        # A regressor that checked its own spread says how wide its intervals must be;
        # one that offers only ``predict`` gets the normal quantiles.
        quantile = getattr(self.regressor, "quantile", None)
        if quantile is not None:
            z_interval = quantile(self.interval_confidence, two_sided=True)
            z_upper = quantile(confidence, two_sided=False)
        # Never less sure than knowing nothing: the prior's own spread widened by how far
        # the measurements were from it. A GP refitted on a handful of points can call
        # itself wildly overconfident (LOO errors of hundreds of its σ); its widened
        # interval then spans decades, which says less than the prior already did.
        ceiling = getattr(self.regressor, "residual_rms_", None)
        half_interval = z_interval * std
        half_upper = z_upper * std
        if ceiling is not None:
            limit = math.hypot(self.prior_log_sigma, ceiling)
            half_interval = np.minimum(half_interval, norm.ppf(0.5 + self.interval_confidence / 2.0) * limit)
            half_upper = np.minimum(half_upper, max(norm.ppf(confidence), 0.0) * limit)
        centre = np.log(base) + mean
        return Prediction(
            value=np.exp(centre),
            low=np.exp(centre - half_interval),
            high=np.exp(centre + half_interval),
            upper=np.exp(centre + half_upper),
            source=self.source,
        )


def training_set(
    observations: Sequence[Observation], prior: AnalyticalPrior, metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, prior values, measured values) of the observations that measured ``metric``."""
    rows, priors, measured = [], [], []
    for observation in observations:
        value = measured_value(observation, metric)
        if value is None or value <= 0:
            continue
        config, thresholds = observation_config(observation)
        features = network_features(config, thresholds)
        model = MetricModel(metric, prior, None, 0.0)
        rows.append(features)
        priors.append(float(model.prior_values(features, network_level=True)[0]))
        measured.append(value)
    return np.array(rows).reshape(-1, len(FEATURES)), np.array(priors), np.array(measured)


def fit_metric_model(
    observations: Sequence[Observation],
    prior: AnalyticalPrior,
    metric: str,
    prior_log_sigma: float,
    interval_confidence: float = 0.9,
) -> MetricModel:
    """Fit the residual regressor when at least :data:`MIN_OBSERVATIONS` measured it."""
    if metric == "power_mw" and not prior.has_power:
        return MetricModel(metric, prior, None, prior_log_sigma, interval_confidence)
    features, priors, measured = training_set(observations, prior, metric)
    if len(measured) == 0:
        return MetricModel(metric, prior, None, prior_log_sigma, interval_confidence)
    residuals = np.log(measured) - np.log(priors)
    if len(measured) < MIN_OBSERVATIONS:
        return ScaledPrior(metric, prior, ConstantResidual(float(np.mean(residuals)), prior_log_sigma),
                           prior_log_sigma, interval_confidence, len(measured),
                           label=f"{prior.source}×{len(measured)} measured")
    regressor = ResidualRegressor().fit(descriptors(features, priors), residuals)
    return MetricModel(metric, prior, regressor, prior_log_sigma, interval_confidence, len(measured))


class ConstantResidual:
    """A residual that is one number everywhere, with the prior's own spread: the
    regressor interface :class:`MetricModel` uses."""

    def __init__(self, offset: float, sigma: float) -> None:
        self.offset = offset
        self.sigma = sigma

    def predict(self, X: np.ndarray, return_std: bool = False) -> Any:
        rows = len(np.atleast_2d(X))
        mean = np.full(rows, self.offset)
        return (mean, np.full(rows, self.sigma)) if return_std else mean


@dataclass
class ScaledPrior(MetricModel):
    """The prior times the geometric mean of measured / prior over its first one or two
    measurements (fewer than the residual regressor needs): a prior off by a constant
    factor is corrected from the first build on, its own spread kept."""

    label: str = ""

    @property
    def source(self) -> str:
        return self.label
