"""The activity power model: coefficients from cited measurements, estimates checked by hand."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from stochflow.flow.errors import FlowError, UsageError
from stochflow.flow.power_model import (
    ECP5_COEFFICIENTS,
    ActivityPowerModel,
    estimate_power,
    ice40_up5k_coefficients,
    math_block_toggle_rate,
    model_for,
    read_activity,
)
from stochflow.flow.synth import PowerRequest
from stochflow.flow.targets import get_target
from stochflow.surrogate.observation import ResourceFigure
from test_evidence_helpers import make_observation

FIXTURE = Path(__file__).parent / "fixtures" / "activity" / "tiny_activity.json"
ACTIVITY = json.loads(FIXTURE.read_text())
DESIGN_HASH = ACTIVITY["design_hash"]
LC = 499  # logic cells as nextpnr states them (one real ice40-up5k build of this design)


def _observation(lc: int = LC, **resources: ResourceFigure):
    figures = {"lc": ResourceFigure(lc, 5280, "tool:nextpnr"), **resources}
    return make_observation(design_hash=DESIGN_HASH, resources=figures, power=None)


def _write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(document))
    return path


# -- the coefficients, recomputed from the cited table ----------------------------------


def test_coefficients_are_the_cited_measurements() -> None:
    """tinyvision-ai-inc/ice40_power README, core rail currents in µA."""
    hfosc = np.array([[6, 388.4], [12, 645], [24, 1162], [48, 2184]])
    counters = np.array([[32, 613.5], [60, 616.65], [116, 624.2], [228, 641.3]])
    clock_ua_per_mhz = np.polyfit(hfosc[:, 0], hfosc[:, 1], 1)[0]
    idle_ua_per_lc_mhz = np.polyfit(counters[:, 0], counters[:, 1], 1)[0] / 12
    math_ua_per_lc_mhz = (996 - 645) / (208 - 28) / 12
    coefficients = ice40_up5k_coefficients()
    assert coefficients.label == "model:ice40-activity"
    assert coefficients.static_a.value == pytest.approx(85.6e-6)
    assert coefficients.clock_a_per_mhz.value == pytest.approx(clock_ua_per_mhz * 1e-6)
    assert coefficients.lc_idle_a_per_mhz.value == pytest.approx(idle_ua_per_lc_mhz * 1e-6)
    alpha = math_block_toggle_rate()
    slope = (math_ua_per_lc_mhz - idle_ua_per_lc_mhz) / alpha * 1e-6
    assert coefficients.lc_toggle_a_per_mhz.value == pytest.approx(slope)
    assert coefficients.supply_v.value == 1.2
    # The figures the project's design notes quote: ~43 µA/MHz, ~14 nW and ~0.2 µW per LC per MHz.
    assert clock_ua_per_mhz == pytest.approx(43, abs=0.5)
    assert idle_ua_per_lc_mhz * 1.219 * 1e3 == pytest.approx(14, abs=0.6)  # nW at 1.219 V
    assert math_ua_per_lc_mhz * 1.219 == pytest.approx(0.2, abs=0.005)  # µW at 1.219 V
    for name, cited in coefficients.coefficients().items():
        assert cited.value is not None and cited.source, name
        if name != "supply_v":
            assert "tinyvision-ai-inc/ice40_power" in cited.source
    assert "DS1056" in coefficients.supply_v.source


def test_math_block_toggle_rate_from_its_rtl() -> None:
    """ctr1 += 3, ctr2 += 5 (8 bits from 0), result = ctr1 * ctr2 over the 256-cycle period."""
    steps = np.arange(257)
    ctr1, ctr2 = (steps * 3) % 256, (steps * 5) % 256
    result = ctr1 * ctr2

    def changes(values: np.ndarray) -> int:
        return sum(bin(int(x)).count("1") for x in values[1:] ^ values[:-1])

    expected = (changes(ctr1) + changes(ctr2) + changes(result)) / (32 * 256)
    assert math_block_toggle_rate() == pytest.approx(expected)


# -- an estimate, computed by hand -------------------------------------------------------


def test_estimate_by_hand_from_a_recorded_simulation() -> None:
    toggles = ACTIVITY["toggles"]
    total = sum(signal["toggles"] for signal in toggles["signals"].values())
    bits = sum(signal["width"] for signal in toggles["signals"].values())
    alpha = total / (bits * toggles["clock_cycles"])
    assert 0 < alpha < 1
    c = {name: cited.value for name, cited in ice40_up5k_coefficients().coefficients().items()}
    mhz = 24.0
    static = c["supply_v"] * c["static_a"]
    clock = c["supply_v"] * mhz * c["clock_a_per_mhz"]
    logic = c["supply_v"] * mhz * LC * (c["lc_idle_a_per_mhz"] + c["lc_toggle_a_per_mhz"] * alpha)
    estimate = estimate_power("ice40-up5k", _observation(), FIXTURE, mhz)
    assert estimate.toggle_rate == pytest.approx(alpha)
    assert estimate.logic_cells == LC
    assert estimate.static_w == pytest.approx(static)
    assert estimate.clock_w == pytest.approx(clock)
    assert estimate.logic_w == pytest.approx(logic)
    assert estimate.total_w == pytest.approx(static + clock + logic)
    figure = estimate.figure()
    assert figure.source == "model:ice40-activity"
    assert (figure.static_w, figure.dynamic_w) == pytest.approx((static, clock + logic))
    latency = ACTIVITY["cycles_per_inference"]
    assert estimate.energy_per_inference_j(latency) == pytest.approx(
        (static + clock + logic) * latency / (mhz * 1e6)
    )
    assert estimate.to_json()["model"] == "model:ice40-activity"


def test_the_hook_returns_the_labelled_figure() -> None:
    model = model_for("ice40-up5k")
    assert model.name == "model:ice40-activity" and model.cache_token.startswith(model.name + "@")
    request = PowerRequest(get_target("ice40-up5k"), _observation(), FIXTURE, 12.0)
    figure = model(request)
    assert figure == estimate_power("ice40-up5k", _observation(), FIXTURE, 12.0).figure()


# -- no estimate where nothing can be cited or measured ---------------------------------


def test_no_toggles_no_estimate(tmp_path: Path) -> None:
    without = dict(ACTIVITY, toggles=None)
    with pytest.raises(UsageError, match="toggles: none recorded"):
        estimate_power("ice40-up5k", _observation(), _write(tmp_path, without), 24.0)
    silent = copy.deepcopy(ACTIVITY)
    for signal in silent["toggles"]["signals"].values():
        signal["toggles"] = 0
    silent["toggles"]["total_toggles"] = 0
    with pytest.raises(UsageError, match="no signal toggled"):
        read_activity(_write(tmp_path, silent))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema="stochflow.activity/0"), r"schema: expected"),
        (lambda d: d["toggles"].update(total_toggles=1), r"signals sum to \d+ toggles"),
        (lambda d: d["toggles"].update(clock_cycles=0), r"toggles\.clock_cycles: expected"),
        (lambda d: d["toggles"].update(signals={}), r"toggles\.signals: expected"),
        (
            lambda d: next(iter(d["toggles"]["signals"].values())).update(width=True),
            r"\.width: expected a whole number",
        ),
    ],
)
def test_a_malformed_activity_file_names_the_field(tmp_path: Path, change, message) -> None:
    document = copy.deepcopy(ACTIVITY)
    change(document)
    with pytest.raises(UsageError, match=message):
        read_activity(_write(tmp_path, document))


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "activity.json"
    path.write_text('{"schema": \n oops}')
    with pytest.raises(UsageError, match=r"activity\.json:2:2: not valid JSON"):
        read_activity(path)


def test_activity_of_another_design_is_refused() -> None:
    other = replace(_observation(), design_hash="0" * 64)
    with pytest.raises(UsageError, match="the activity is of design"):
        estimate_power("ice40-up5k", other, FIXTURE, 24.0)


def test_resources_without_a_coefficient_are_refused() -> None:
    with pytest.raises(FlowError, match=r"uses 2 bram, for which the model has no cited"):
        estimate_power(
            "ice40-up5k", _observation(bram=ResourceFigure(2, 30, "tool:nextpnr")), FIXTURE, 24.0
        )
    no_lc = make_observation(design_hash=DESIGN_HASH, resources={}, power=None)
    with pytest.raises(FlowError, match="no measured 'lc'"):
        estimate_power("ice40-up5k", no_lc, FIXTURE, 24.0)


def test_ecp5_has_no_cited_coefficients_so_no_estimate() -> None:
    assert ECP5_COEFFICIENTS.label == "model:ecp5-activity"
    assert all(cited.value is None for cited in ECP5_COEFFICIENTS.coefficients().values())
    model = ActivityPowerModel("ecp5-25k")
    with pytest.raises(FlowError, match=r"model:ecp5-activity cannot estimate ecp5-25k.*TN1266"):
        model.check()
    with pytest.raises(FlowError, match="no cited value for supply_v"):
        estimate_power("ecp5-85k", _observation(), FIXTURE, 24.0)


@pytest.mark.parametrize("target", ["ice40-hx8k", "xc7a35t"])
def test_targets_without_a_model(target: str) -> None:
    with pytest.raises(UsageError, match=f"no activity power model for {target}"):
        model_for(target)
