"""``stochflow simulate`` then ``stochflow synth --activity``: a real run gets modelled power."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.power_model import estimate_power
from stochflow.flow.store import EvidenceStore
from stochflow.surrogate.evidence import observation_from_json

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny" / "network.toml"
CLOCK_MHZ = 12.0


@pytest.mark.slow
def test_simulated_activity_gives_power_and_energy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = tmp_path / "sim"
    assert main(["simulate", str(TINY), "--vectors", "4", "--out", str(sim)]) == 0
    activity = sim / "activity.json"
    recorded = json.loads(activity.read_text())
    assert recorded["toggles"]["total_toggles"] > 0
    capsys.readouterr()
    store = tmp_path / "evidence.sqlite"
    argv = [
        "synth", "--design", str(sim / "design.json"), "--target", "ice40-up5k",
        "--clock-mhz", str(CLOCK_MHZ), "--out", str(tmp_path / "build"), "--store", str(store),
        "--activity", str(activity), "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    observation = observation_from_json(summary["observation"])
    power, energy = observation.power, observation.energy_per_inference_j
    assert power is not None and power.source == "model:ice40-activity"
    assert energy is not None and energy.source == "model:ice40-activity"
    fmax = observation.fmax_mhz
    assert fmax is not None
    clock = min(CLOCK_MHZ, fmax)  # the clock the build runs at
    expected = estimate_power("ice40-up5k", observation, activity, clock)
    assert power.total_w == pytest.approx(expected.total_w)
    assert (power.static_w, power.dynamic_w) == pytest.approx(
        (expected.static_w, expected.dynamic_w)
    )
    latency = observation.latency_cycles.value
    assert latency == recorded["cycles_per_inference"]
    assert energy.value == pytest.approx(power.total_w * latency / (clock * 1e6))
    assert summary["energy_per_inference_j"] == energy.to_json()
    with EvidenceStore(store) as opened:
        (stored,) = opened.observations()
    assert stored.power == power and stored.provenance["activity"]


def test_targets_without_coefficients_refuse_before_building(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = Path(__file__).parent / "fixtures" / "activity" / "tiny_activity.json"
    common = ["--clock-mhz", "12", "--no-store", "--activity", str(fixture)]
    design = tmp_path / "design.json"  # never read: the refusal comes first
    argv = ["synth", "--design", str(design), "--out", str(tmp_path / "b"), *common]
    assert main([*argv, "--target", "ecp5-25k"]) == 1
    assert "model:ecp5-activity cannot estimate ecp5-25k" in capsys.readouterr().err
    assert main([*argv, "--target", "ice40-hx8k"]) == 2
    assert "no activity power model for ice40-hx8k" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
