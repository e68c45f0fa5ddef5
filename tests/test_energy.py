"""Energy accounting: hand-computed totals, golden-model tracking, errors."""

from __future__ import annotations

import numpy as np
import pytest
from stochflow.hdl import golden
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.sim.cost_models import CostModelError, EnergyError, get_cost_model
from stochflow.sim.energy import EnergyAccountant, EnergyInputError
from stochflow.sim.energy_ops import LayerCounts, operation_counts

SEED = dict(
    layer_names=["fc1", "fc2"],
    layer_sizes=[(784, 128), (128, 10)],
    spike_counts=[1200, 40],
    n_timesteps=100,
)


def tiny_network(architecture: str = "stream") -> Network:
    rng = np.random.default_rng(3)
    source = RngSpec(kind="lfsr", width=8, seed=29)
    layers = (
        LayerConfig("hidden", 8, 6, bitstream_length=32, precision=4, input_rng=source),
        LayerConfig(
            "out",
            6,
            3,
            bitstream_length=32,
            precision=4,
            input_rng=RngSpec(kind="lfsr", width=8, seed=77)
            if architecture == "regenerate"
            else None,
        ),
    )
    weights = (
        LayerWeights(rng.integers(-15, 16, (6, 8)), rng.integers(-15, 16, 6), 4),
        LayerWeights(rng.integers(-15, 16, (3, 6)), rng.integers(-15, 16, 3), 4),
    )
    return Network(NetworkConfig("tiny", layers, architecture), weights)


def test_seed_example_45nm_by_hand() -> None:
    model = get_cost_model("45nm")
    add = model.entry("synaptic").pj  # Horowitz Fig. 1.1.9: 32-bit int add
    update = model.entry("membrane").pj
    reset = model.entry("spike").pj
    sram = model.entry("memory_read").pj  # 64-bit access to an 8 KB cache
    write = model.entry("memory_write").pj
    assert (add, update, reset, sram, write) == (0.1, 0.1, 0.1, 10.0, 10.0)

    report = EnergyAccountant("45nm").account(**SEED, input_spikes=5000)

    # fc1: 5000 input spikes × 128 synapses; 128 neurons × 100 steps; 1200 output spikes
    fc1_synops, fc1_updates, fc1_spikes = 5000 * 128, 128 * 100, 1200
    # fc2: fc1's 1200 spikes × 10 synapses; 10 neurons × 100 steps; 40 output spikes
    fc2_synops, fc2_updates, fc2_spikes = 1200 * 10, 10 * 100, 40
    fc1 = (
        fc1_synops * add
        + fc1_updates * update
        + fc1_spikes * reset
        + (fc1_synops + fc1_updates) * sram  # one weight read per SynOp + one state read
        + fc1_updates * write  # one state write-back per update
    )
    fc2 = (
        fc2_synops * add
        + fc2_updates * update
        + fc2_spikes * reset
        + (fc2_synops + fc2_updates) * sram
        + fc2_updates * write
    )
    assert [layer.counts.synops for layer in report.layers] == [fc1_synops, fc2_synops]
    assert [layer.counts.neuron_steps for layer in report.layers] == [fc1_updates, fc2_updates]
    assert report.layers[0].total_pj == pytest.approx(fc1)
    assert report.layers[1].total_pj == pytest.approx(fc2)
    assert report.total_pj == pytest.approx(fc1 + fc2)
    assert report.total_nj == pytest.approx((fc1 + fc2) / 1e3)
    assert report.dominant_layer == "fc1"
    assert report.energy_per_spike_pj == pytest.approx((fc1 + fc2) / (1200 + 40))
    # routing and leakage have no figure in Horowitz 2014: absent, not zero
    assert report.layers[0].components["routing"].pj is None
    assert report.network_components["static"].pj is None
    assert not report.complete


def test_seed_example_loihi_without_input_spikes() -> None:
    model = get_cost_model("loihi")
    synop, update, tile = (model.entry(c).pj for c in ("synaptic", "membrane", "routing"))
    assert (synop, update, tile) == (23.6, 81.0, 1.7)  # Davies et al. 2018, Table 2

    report = EnergyAccountant("loihi").account(**SEED)
    fc1, fc2 = report.layers
    # fc1's input spikes were not given: its SynOps are unknown, not zero
    assert fc1.counts.synops is None
    assert fc1.components["synaptic"].pj is None
    assert fc1.total_pj == pytest.approx(128 * 100 * update + 1200 * tile)
    assert fc2.total_pj == pytest.approx(1200 * 10 * synop + 10 * 100 * update + 40 * tile)
    assert fc2.components["spike"].pj is None  # Table 2 has no spike-generation figure
    assert fc2.components["memory_read"].included_in == "synaptic"
    assert report.dominant_layer is None  # fc1 is not fully counted
    assert "input spikes of fc1" in report.summary()


def test_technology_keyword_and_summary_states_its_terms() -> None:
    accountant = EnergyAccountant(technology="7nm")
    report = accountant.account(**SEED, input_spikes=5000)
    assert accountant.report is report
    assert accountant.total_pj == report.total_pj
    text = report.summary()
    for phrase in (
        "estimator",
        "regime",
        "forward inference only",
        "sparsity",
        "given by the caller",
        "modelled",
        "Stillmaker",
        "Not priced",
    ):
        assert phrase in text
    assert report.input_sparsity == pytest.approx(1 - 5000 / (784 * 100))
    payload = report.to_dict()
    assert payload["total_pj"] == pytest.approx(report.total_pj)
    assert payload["layers"][0]["synops"] == 5000 * 128


def test_scaled_nodes_follow_the_stated_factor() -> None:
    base = get_cost_model("45nm")
    for name in ("28nm", "7nm"):
        scaled = get_cost_model(name)
        ratio = scaled.entry("synaptic").pj / base.entry("synaptic").pj
        assert f"× {ratio:.4f}" in scaled.entry("synaptic").derivation
        assert scaled.entry("memory_read").pj == pytest.approx(10.0 * ratio)
        assert 0 < ratio < 1


def test_track_counts_equal_the_golden_model() -> None:
    network = tiny_network()
    x = np.random.default_rng(5).random((6, 8))
    accountant = EnergyAccountant("truenorth")
    report = accountant.track(network, x)
    reference = golden.run(network, golden.quantise_inputs(x, network.input_precision))
    for k, layer in enumerate(report.layers):
        assert layer.counts.spikes == int(reference.counts[k].sum())
        assert layer.counts.input_spikes == int(reference.input_counts[k].sum())
        assert layer.counts.synops == reference.synops(k)
        assert layer.counts.inferences == 6
        assert layer.counts.source == "sim:golden"
    # stream architecture: layer 2's input spikes are layer 1's output spikes
    assert report.layers[1].counts.input_spikes == report.layers[0].counts.spikes
    synops = sum(reference.synops(k) for k in range(2))
    assert accountant.total_pj == pytest.approx(26.0 * synops)  # Merolla et al. 2014
    assert report.per_inference_pj == pytest.approx(26.0 * synops / 6)
    assert "measured (sim:golden)" in report.summary()


def test_track_regenerate_counts_reencoded_inputs() -> None:
    network = tiny_network("regenerate")
    x = np.random.default_rng(9).random((4, 8))
    report = EnergyAccountant("loihi").track(network, x)
    reference = golden.run(network, golden.quantise_inputs(x, network.input_precision))
    assert [layer.counts.input_spikes for layer in report.layers] == [
        int(c.sum()) for c in reference.input_counts
    ]


def test_fpga_model_prices_power_times_latency() -> None:
    from stochflow.sim.cost_models import HardwareCostModel

    model = HardwareCostModel.from_fpga(
        "ice40-up5k",
        dynamic_w=0.004,
        dynamic_source="model:ice40-activity",
        static_w=0.0003,
        static_source="model:ice40-activity",
        clock_mhz=24.0,
        clock_source="tool:nextpnr",
        latency_cycles=258,
    )
    report = EnergyAccountant(model).account(**SEED, input_spikes=5000, n_inferences=2)
    seconds = 258 / 24e6 * 2
    assert report.network_components["dynamic"].pj == pytest.approx(0.004 * seconds * 1e12)
    assert report.network_components["static"].pj == pytest.approx(0.0003 * seconds * 1e12)
    assert report.per_inference_pj == pytest.approx(0.0043 * 258 / 24e6 * 1e12)
    assert report.dominant_layer is None
    assert report.complete


def test_operation_counts_binary_and_dense() -> None:
    binary = LayerCounts(
        "a", 4, 3, timesteps=10, inferences=2, input_spikes=7, spikes=5, source="given"
    )
    ops = operation_counts(binary)
    assert (ops.synops, ops.acs, ops.macs) == (21, 21, 0)
    assert ops.neuron_updates == 60
    assert (ops.memory_reads, ops.memory_writes) == (21 + 60, 60)
    assert ops.dense_equivalent_macs == 4 * 3 * 2
    dense = LayerCounts("a", 4, 3, 10, 2, None, 5, "given", input_kind="dense")
    ops = operation_counts(dense)
    assert (ops.synops, ops.macs, ops.memory_reads) == (0, 4 * 3 * 10 * 2, 240 + 60)


def test_unknown_hardware_lists_the_known_ones() -> None:
    with pytest.raises(CostModelError, match="known: 45nm, 28nm, 7nm, loihi, truenorth, spinnaker"):
        EnergyAccountant("loihi3")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(spike_counts=[1200, -1]), r"spike_counts\[fc2\]: expected 0 or more"),
        (dict(spike_counts=[1200]), "spike_counts: expected 2 entries"),
        (dict(layer_sizes=[(784, 128), (64, 10)]), "does not match the 128 outputs of fc1"),
        (dict(n_timesteps=0), "expected at least 1"),
        (dict(n_timesteps=[100]), "n_timesteps: expected 2 values"),
        (dict(spike_counts=[128 * 100 + 1, 0]), "at most 12800"),
        (dict(layer_names=["fc1", "fc1"]), "must be unique"),
        (dict(spike_counts=[1200.5, 40]), "expected a whole number"),
        (dict(input_spikes=-3), "expected 0 or more"),
    ],
)
def test_bad_counts_are_clear_errors(change: dict, message: str) -> None:
    arguments = {**SEED, **change}
    with pytest.raises(EnergyInputError, match=message):
        EnergyAccountant("loihi").account(**arguments)


def test_errors_are_energy_errors_and_total_needs_a_run() -> None:
    accountant = EnergyAccountant("45nm")
    with pytest.raises(EnergyError, match="nothing accounted yet"):
        _ = accountant.total_pj
    with pytest.raises(EnergyError, match="not both"):
        EnergyAccountant("45nm", technology="7nm")


def test_dense_first_layer_leaves_synaptic_energy_absent() -> None:
    report = EnergyAccountant("45nm").account(**SEED, input_kind="dense")
    fc1 = report.layers[0]
    assert fc1.operations.macs == 784 * 128 * 100
    assert fc1.components["synaptic"].pj is None
    assert "MAC" in fc1.components["synaptic"].note
    assert fc1.components["memory_read"].pj == pytest.approx((784 * 128 * 100 + 12800) * 10.0)


def test_activity_payload_prices_like_the_golden_run() -> None:
    network = tiny_network()
    x = np.random.default_rng(2).random((3, 8))
    tracked = EnergyAccountant("loihi").track(network, x)
    result = golden.run(network, golden.quantise_inputs(x, network.input_precision))
    activity = {
        "schema": "stochflow.activity/1",
        "design_hash": network.design_hash,
        "simulator": {"name": "verilator", "version": "5.48.0"},
        "vectors": 3,
        "layers": [
            {
                "name": a.name,
                "spike_counts": a.spike_counts.tolist(),
                "spikes_total": a.spikes_total,
                "input_spikes_total": a.input_spikes_total,
                "synops": a.synops,
            }
            for a in result.activity()
        ],
    }
    priced = EnergyAccountant("loihi").account_activity(activity, network)
    assert priced.total_pj == pytest.approx(tracked.total_pj)
    assert priced.counts_label == "measured (sim:verilator)"
    with pytest.raises(EnergyInputError, match="design_hash"):
        EnergyAccountant("loihi").account_activity({**activity, "design_hash": "0" * 64}, network)


def test_fpga_dynamic_power_by_layer_names_the_dominant_layer() -> None:
    from stochflow.sim.cost_models import HardwareCostModel

    model = HardwareCostModel.from_fpga(
        "ecp5-25k",
        dynamic_w=0.03,
        dynamic_source="vendor:diamond",
        static_w=0.01,
        static_source="vendor:diamond",
        clock_mhz=100.0,
        clock_source="tool:nextpnr",
        latency_cycles=101,
        dynamic_w_by_layer={"fc1": 0.02, "fc2": 0.01},
    )
    report = EnergyAccountant(model).account(**SEED, input_spikes=5000)
    seconds = 101 / 100e6
    assert report.layers[0].total_pj == pytest.approx(0.02 * seconds * 1e12)
    assert "dynamic" not in report.network_components
    assert report.dominant_layer == "fc1"
    assert report.energy_label == "modelled (power: vendor:diamond)"
