"""The established optimiser's API, as users call it."""

from __future__ import annotations

import numpy as np
import pytest
from stochflow.surrogate import (
    HardwareBudget,
    LayerProfile,
    ObservationLoadError,
    SurrogateSCOptimizer,
    TargetHardwareProfile,
    fit_to_target,
    observations_from_payload,
    optimise_from_evidence_payload,
)
from stochflow.surrogate.compat import polynomial_text
from stochflow.surrogate.evidence import payload_from_observations
from test_surrogate_helpers import recorded_observations

SMALL = {"bitstream_options": (64, 256), "precision_options": (4, 8)}


def _target(luts: int, power: float | None = None) -> TargetHardwareProfile:
    return TargetHardwareProfile(
        "ice40-up5k", HardwareBudget(max_luts=luts, max_power_mw=power, max_latency_cycles=20_000),
        clock_mhz=12.0, static_power_w=1e-4, static_source="test figure",
    )


def test_optimise_reports_every_layer_within_budget() -> None:
    network = [LayerProfile("encoder", 64, is_critical_path=True), LayerProfile("decoder", 32)]
    report = SurrogateSCOptimizer(_target(5000, 50.0), **SMALL).optimise(network)
    assert report.feasible and set(report.config) == {"encoder", "decoder"}
    assert report.total_luts <= 5000 and report.total_power_mw is not None
    layer = report.config["encoder"]
    assert layer.bitstream_length in (64, 256) and layer.precision_bits in (4, 8)
    assert layer.decorrelator in ("LFSR", "Sobol", "VdC") and layer.accuracy_score is None
    assert layer.utility_score == -layer.error_proxy


def test_tiny_budget_rejects_layers() -> None:
    report = SurrogateSCOptimizer(_target(5), **SMALL).optimise([LayerProfile("encoder", 64)])
    assert not report.feasible and report.rejected_layers == ["encoder"] and report.why_rejected


def test_power_budget_without_static_power_is_refused() -> None:
    target = TargetHardwareProfile("ice40-up5k", HardwareBudget(5000, 10.0), clock_mhz=12.0)
    with pytest.raises(ValueError, match="static"):
        SurrogateSCOptimizer(target, **SMALL).optimise([LayerProfile("a", 16)])


def test_evidence_payload_round_trip_and_strict_loading() -> None:
    payload = payload_from_observations(recorded_observations("ice40"))
    result = optimise_from_evidence_payload(
        network=[LayerProfile("a", 64)], target=_target(5000), payload=payload
    )
    assert len(result.observations) == len(payload["observations"])
    assert result.report.training_points == len(result.observations)
    with pytest.raises(ObservationLoadError):
        observations_from_payload({"observations": [{"design_hash": "x"}]})


def test_fit_to_target_shrinks_until_it_fits() -> None:
    weights = [np.random.default_rng(0).normal(size=(16, 32))]
    result = fit_to_target([(32, 16)], weights, "ice40", max_luts=2500)
    assert result.steps and result.final_luts <= result.steps[0].luts_before
    assert "Resource Optimization: ice40" in result.summary()
    assert result.source in ("prior:ice40", "predicted:gp")


def test_polynomial_text() -> None:
    assert polynomial_text(0xD008) == "x16+x15+x13+x4+1"
    assert polynomial_text(None) == "none"
