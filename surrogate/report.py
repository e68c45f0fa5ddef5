"""How good is the surrogate on the measured data? Cross-validated error and coverage.

For every metric with enough observations on one target, the residual regressor is
refitted without each held-out fold (leave-one-out up to 20 observations, 5-fold
beyond) and its predictions of the held-out designs are compared with the measured
values: MAPE, R² (on the measured scale), and the share of measured values inside the
stated interval (empirical coverage vs the stated confidence). The prior's own MAPE on
the same designs is given for reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, LeaveOneOut

from .learned import MIN_OBSERVATIONS, ResidualRegressor, descriptors, training_set
from .observation import Observation
from .prior import AnalyticalPrior

MIN_CV_OBSERVATIONS = MIN_OBSERVATIONS + 1


class InsufficientEvidence(ValueError):
    """Too few observations to cross-validate."""


@dataclass(frozen=True)
class MetricReport:
    metric: str
    target: str
    observations: int
    mape: float
    r2: float
    coverage: float
    interval_confidence: float
    prior_mape: float
    folds: str
    model: str = "predicted:gp"


def _r2(measured: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((measured - measured.mean()) ** 2))
    return 1.0 - float(np.sum((measured - predicted) ** 2)) / total if total > 0 else float("nan")


def cross_validate(
    observations: Sequence[Observation],
    prior: AnalyticalPrior,
    target: str,
    metric: str,
    interval_confidence: float = 0.9,
) -> MetricReport:
    mine = [o for o in observations if o.target == target]
    features, priors, measured = training_set(mine, prior, metric)
    n = len(measured)
    if n < MIN_CV_OBSERVATIONS:
        raise InsufficientEvidence(
            f"{metric} on {target}: {n} measured observation(s); cross-validation needs at "
            f"least {MIN_CV_OBSERVATIONS}"
        )
    X = descriptors(features, priors)
    y = np.log(measured) - np.log(priors)
    splitter = LeaveOneOut() if n <= 20 else KFold(5, shuffle=True, random_state=0)
    predicted = np.empty(n)
    low = np.empty(n)
    high = np.empty(n)
    for train, test in splitter.split(X):
        model = ResidualRegressor().fit(X[train], y[train])
        mean, std = model.predict(X[test], return_std=True)
        z = model.quantile(interval_confidence, two_sided=True)
        centre = np.log(priors[test]) + mean
        predicted[test] = np.exp(centre)
        low[test] = np.exp(centre - z * std)
        high[test] = np.exp(centre + z * std)
    return MetricReport(
        metric=metric,
        target=target,
        observations=n,
        mape=float(np.mean(np.abs(predicted - measured) / measured)),
        r2=_r2(measured, predicted),
        coverage=float(np.mean((measured >= low) & (measured <= high))),
        interval_confidence=interval_confidence,
        prior_mape=float(np.mean(np.abs(priors - measured) / measured)),
        folds="leave-one-out" if n <= 20 else "5-fold",
    )
