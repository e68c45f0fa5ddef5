"""Surrogate: design space, cost priors, learned models and the budgeted selector.

The established optimiser's API (:mod:`.compat`) is re-exported here, loaded on first
use so that importing :mod:`stochflow.surrogate.observation` stays light.
"""

from __future__ import annotations

from typing import Any

_COMPAT_NAMES = (
    "BenchmarkObservation",
    "HardwareBudget",
    "LayerProfile",
    "ObservationLoadError",
    "OptimizationResult",
    "SurrogateOptimizerReport",
    "SurrogateSCOptimizer",
    "SynthesisFeedbackResult",
    "TargetHardwareProfile",
    "fit_to_target",
    "load_observations",
    "observations_from_payload",
    "optimise_from_evidence_payload",
    "optimise_from_synthesis_reports",
)

__all__ = list(_COMPAT_NAMES)


def __getattr__(name: str) -> Any:
    if name in _COMPAT_NAMES:
        from . import compat

        return getattr(compat, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
