"""Cross-platform profile: labelled rows, fit rules, ranking, the RTL hook's absence."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.flow.errors import UsageError
from stochflow.flow.profile import (
    compare,
    fits_device,
    format_table,
    fpga_cost_model,
    rapl_delta_uj,
    rapl_domains,
    synthetic_network,
)
from stochflow.sim.energy import EnergyAccountant
from stochflow.surrogate.observation import (
    ClockFigure,
    Figure,
    Observation,
    PowerFigure,
    ResourceFigure,
)

SIZES = [(16, 8), (8, 4)]
REPO_ROOT = Path(__file__).resolve().parents[1]


def observation_of(design_hash: str, target: str, *, lut_used: float, fmax: float) -> Observation:
    """An observation record assembled in the test, to exercise the row arithmetic."""
    return Observation(
        design_hash=design_hash,
        design_name="synthetic",
        architecture="stream",
        layers=(),
        target=target,
        device="iCE40UP5K",
        tools={"yosys": "0.70", "nextpnr-ice40": "0.9"},
        latency_cycles=Figure(66, "design:latency"),
        resources={"lut": ResourceFigure(lut_used, 5280, "tool:nextpnr")},
        clocks=(ClockFigure("clk", fmax, "tool:nextpnr"),),
        power=PowerFigure(0.002, "model:ice40-activity", dynamic_w=0.0015, static_w=0.0005),
    )


def test_rows_are_labelled_and_an_unfit_design_is_never_ranked() -> None:
    network = synthetic_network(SIZES, bitstream_length=64)
    fits = observation_of(network.design_hash, "ice40-up5k", lut_used=4000, fmax=30.0)
    too_big = observation_of(network.design_hash, "ecp5-25k", lut_used=9000, fmax=300.0)
    rows, setup = compare(
        SIZES,
        ["cpu", "verilator", "ice40-up5k", "ecp5-25k", "ice40-hx8k", "loihi"],
        bitstream_length=64,
        vectors=8,
        observations=[fits, too_big],
    )
    assert setup.network.design_hash == network.design_hash
    by = {row.platform: row for row in rows}
    assert by["cpu"].label == "measured" and by["cpu"].latency_s > 0
    assert by["verilator"].label == "measured"  # cycles per second of a real Verilator run
    assert by["ice40-hx8k"].label == "unavailable"  # no observation of it
    up5k = by["ice40-up5k"]
    assert up5k.label == "modelled"  # the power figure comes from an activity model
    assert up5k.latency_s == pytest.approx(66 / 30e6)
    assert up5k.energy_per_inference_j == pytest.approx(0.002 * 66 / 30e6)
    assert up5k.fits is True and up5k.rank is not None
    ecp5 = by["ecp5-25k"]
    assert ecp5.fits is False and ecp5.rank is None  # fastest and cheapest, but does not fit
    assert ecp5.energy_per_inference_j < up5k.energy_per_inference_j
    assert by["loihi"].label == "modelled" and by["loihi"].energy_per_inference_j > 0
    table = format_table(rows)
    assert "NO" in table and "does not fit the device: lut 9000/5280" in table


def test_fpga_cost_model_prices_the_observation() -> None:
    network = synthetic_network(SIZES, bitstream_length=64)
    model = fpga_cost_model(
        observation_of(network.design_hash, "ice40-up5k", lut_used=1, fmax=24.0)
    )
    report = EnergyAccountant(model).account(
        ["layer0", "layer1"], SIZES, [10, 2], 64, input_spikes=100
    )
    assert report.per_inference_pj == pytest.approx(0.002 * 66 / 24e6 * 1e12)
    assert "model:ice40-activity" in report.summary()


def test_fit_needs_a_stated_capacity() -> None:
    network = synthetic_network(SIZES)
    observation = observation_of(network.design_hash, "ice40-up5k", lut_used=10, fmax=50.0)
    assert fits_device(observation) == (True, [])


def test_unknown_platform_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown platform 'tpu'; known: cpu, verilator"):
        compare(SIZES, ["tpu"], vectors=2)


def test_rapl_counter_wraps_and_is_absent_here_or_readable() -> None:
    assert rapl_delta_uj(100, 250, 1000) == 150
    assert rapl_delta_uj(900, 50, 1000) == 150
    for domain in rapl_domains():
        assert (domain / "energy_uj").is_file()


@pytest.mark.slow
def test_fpga_row_comes_from_a_real_ice40_build(tmp_path: Path) -> None:
    """Generate, synthesise and place the tiny network; the profile reads the stored observation."""
    from stochflow.flow.store import EvidenceStore
    from stochflow.flow.synth import build
    from stochflow.hdl.generate import generate
    from stochflow.hdl.spec import load_spec

    network = load_spec(REPO_ROOT / "examples" / "tiny" / "network.toml").build()
    design = generate(network, tmp_path / "design")
    store_path = tmp_path / "evidence.sqlite"
    with EvidenceStore(store_path) as store:
        result = build(design, "ice40-up5k", 12.0, tmp_path / "build", store=store)
    assert result.ok, result.failure
    rows, _ = compare(network, ["ice40-up5k"], vectors=4, store_path=store_path)
    (row,) = rows
    observation = result.observation
    assert observation is not None
    assert row.evidence.startswith(f"observation {network.design_hash[:12]}")
    assert row.clock_mhz == observation.fmax_mhz
    assert row.cycles_per_inference == observation.latency_cycles.value
    assert row.latency_s == pytest.approx(row.cycles_per_inference / (row.clock_mhz * 1e6))
    assert row.fits is True
    if observation.power is None:
        assert row.energy_per_inference_j is None
        assert any("no power figure" in note for note in row.notes)


def test_a_choice_file_sets_the_profiled_design(tmp_path: Path) -> None:
    import json

    from stochflow.flow.profile import run_inputs

    tiny = REPO_ROOT / "examples" / "tiny" / "network.toml"
    plain = run_inputs(tiny, 2, 0)
    choice = tmp_path / "choice.json"
    choice.write_text(json.dumps({"layers": [{"index": 0, "bitstream_length": 128},
                                             {"index": 1, "bitstream_length": 128}]}))
    chosen = run_inputs(tiny, 2, 0, choice)
    assert [layer.bitstream_length for layer in chosen.network.config.layers] == [128, 128]
    assert chosen.network.design_hash != plain.network.design_hash
    with pytest.raises(UsageError, match="choice"):
        run_inputs(tiny, 2, 0, tmp_path / "missing.json")
