"""sc_network in the Amaranth simulator: bit-exact with the golden model, exact latency.

Small networks only (the Python simulator is slow); the wide matrix runs on Verilator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator
from stochflow.hdl import golden
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.generate import generate
from stochflow.hdl.network import LayerWeights, Network
from stochflow.hdl.rtl_network import ScNetwork, compute_cycles, latency_cycles
from test_hdl_rtl_helpers import (
    layer,
    pack_inputs,
    random_inputs,
    random_network,
    reference_run,
    simulate_network,
)

LFSR_FIB = RngSpec(kind="lfsr", width=8, seed=0x2B, decorrelation="permuted")
LFSR_GALOIS_SHARED = RngSpec(kind="lfsr", width=9, seed=0x0F3, structure="galois", decorrelation="shared")
LFSR_ROTATED = RngSpec(kind="lfsr", width=7, seed=0x35, decorrelation="rotated")
LFSR_INDEPENDENT = RngSpec(kind="lfsr", width=10, seed=0x2C1, structure="galois", decorrelation="independent")
SOBOL_INDEPENDENT = RngSpec(kind="sobol", width=8, seed=3, decorrelation="independent", dimension=2)
SOBOL_PERMUTED = RngSpec(kind="sobol", width=6, seed=0, decorrelation="permuted")
VDC_PERMUTED = RngSpec(kind="vdc", width=6, seed=5, decorrelation="permuted")


def _case(architecture: str, layers: list[LayerConfig], thresholds: list[int], **kw: object):
    return {"architecture": architecture, "layers": layers, "thresholds": thresholds, **kw}


CASES = {
    "stream-1-layer-fibonacci-permuted": _case(
        "stream", [layer("a", 5, 3, weight_rng=LFSR_FIB, input_rng=LFSR_ROTATED)], [3]
    ),
    "stream-2-layers-folded-galois-sobol-leak": _case("stream", [
        layer("a", 4, 3, weight_rng=LFSR_GALOIS_SHARED, input_rng=SOBOL_INDEPENDENT,
              folding=2, leak=1, membrane_init="zero"),
        layer("b", 3, 2, weight_rng=LFSR_ROTATED),
    ], [2, 2]),
    "stream-3-layers-mixed-folding": _case("stream", [
        layer("a", 3, 4, weight_rng=LFSR_INDEPENDENT, input_rng=VDC_PERMUTED, folding=1),
        layer("b", 4, 3, weight_rng=SOBOL_PERMUTED, folding=2),
        layer("c", 3, 2, weight_rng=LFSR_FIB, folding=4),
    ], [2, 2, 2]),
    "regenerate-2-layers-floor-shift": _case("regenerate", [
        layer("a", 4, 3, weight_rng=VDC_PERMUTED, input_rng=LFSR_FIB, folding=3),
        layer("b", 3, 2, bitstream_length=32, precision=3, weight_rng=LFSR_GALOIS_SHARED,
              input_rng=LFSR_INDEPENDENT),
    ], [2, 1]),
    "regenerate-3-layers-lengths-and-precisions": _case("regenerate", [
        layer("a", 3, 3, precision=3, weight_rng=LFSR_ROTATED, input_rng=SOBOL_PERMUTED),
        layer("b", 3, 3, bitstream_length=32, precision=6, weight_rng=SOBOL_INDEPENDENT,
              input_rng=VDC_PERMUTED, folding=2, leak=1),
        layer("c", 3, 2, precision=4, weight_rng=LFSR_FIB, input_rng=LFSR_GALOIS_SHARED,
              folding=1),
    ], [1, 1, 2]),
    "stream-2-layers-rom-and-multiplexed-folding": _case("stream", [
        layer("a", 9, 4, weight_rng=SOBOL_PERMUTED, input_rng=LFSR_FIB, folding=1),
        layer("b", 4, 3, weight_rng=LFSR_INDEPENDENT, folding=1, leak=1),
    ], [2, 1]),
    "regenerate-2-layers-rom-folding": _case("regenerate", [
        layer("a", 3, 8, weight_rng=LFSR_GALOIS_SHARED, input_rng=VDC_PERMUTED),
        layer("b", 8, 2, weight_rng=VDC_PERMUTED, input_rng=SOBOL_INDEPENDENT, folding=1),
    ], [1, 2]),
    "stream-precision-equals-width-unsigned": _case("stream", [
        layer("a", 3, 3, precision=4, weight_rng=RngSpec(width=4, seed=9),
              input_rng=RngSpec(kind="vdc", width=4, decorrelation="shared")),
        layer("b", 3, 2, precision=2, weight_rng=RngSpec(kind="sobol", width=2,
                                                         decorrelation="shared")),
    ], [4, 1], signed_weights=False),
}


# Weight seeds picked so that every layer of every case fires 20–85 % of the time.
WEIGHT_SEEDS = {
    "stream-1-layer-fibonacci-permuted": 13,
    "stream-2-layers-folded-galois-sobol-leak": 9,
    "stream-3-layers-mixed-folding": 28,
    "regenerate-2-layers-floor-shift": 9,
    "regenerate-3-layers-lengths-and-precisions": 15,
    "stream-precision-equals-width-unsigned": 13,
    "stream-2-layers-rom-and-multiplexed-folding": 9,
    "regenerate-2-layers-rom-folding": 18,
}


def _build(name: str) -> Network:
    case = CASES[name]
    return random_network(
        case["layers"], architecture=case["architecture"], thresholds=case["thresholds"],
        signed_weights=case.get("signed_weights", True), seed=WEIGHT_SEEDS[name],
    )


def _check_against_golden(network: Network, inputs_q: np.ndarray) -> None:
    run = simulate_network(network, inputs_q)
    model = golden.run(network, inputs_q, record_spikes=True, engine="numpy")
    assert model.spikes is not None
    for k in range(len(network.layers)):
        assert np.array_equal(run.spikes[k], model.spikes[k]), f"layer {k} spikes differ"
    assert np.array_equal(run.counts, model.counts[-1])
    assert run.latencies == [latency_cycles(network)] * len(inputs_q)
    assert run.busy_cycles == [compute_cycles(network)] * len(inputs_q)


@pytest.mark.parametrize("name", list(CASES))
def test_network_matches_golden_model(name: str) -> None:
    network = _build(name)
    inputs_q = random_inputs(network, 3)
    inputs_q = np.concatenate([inputs_q, inputs_q[:1]])  # a repeat must repeat exactly
    model = golden.run(network, inputs_q, record_spikes=True, engine="numpy")
    for k, counts in enumerate(model.counts):  # the case exercises something
        rate = counts.sum() / (counts.size * network.layers[k].bitstream_length)
        assert 0.2 <= rate <= 0.85, (k, rate)
    _check_against_golden(network, inputs_q)


@pytest.mark.parametrize("name", list(CASES))
def test_golden_model_matches_scalar_reading_of_contract(name: str) -> None:
    network = _build(name)
    inputs_q = random_inputs(network, 3)
    reference = reference_run(network, inputs_q)
    model = golden.run(network, inputs_q, record_spikes=True, engine="numpy")
    assert model.spikes is not None
    for k in range(len(network.layers)):
        assert np.array_equal(reference.spikes[k], model.spikes[k])
        assert np.array_equal(reference.counts[k], model.counts[k])


def test_membrane_saturates_both_ways() -> None:
    """Strong positive and strong negative neurons pin their membranes at the rails."""
    spec = layer("a", 6, 2, precision=4, weight_rng=LFSR_FIB, input_rng=VDC_PERMUTED,
                 membrane_bits=6, membrane_init="zero", bitstream_length=32)
    weights = np.array([[15] * 6, [-15] * 6])
    network = Network(
        NetworkConfig("sat", (spec,)),
        (LayerWeights(weights, np.array([15, -15]), 1),),
    )
    inputs_q = np.full((2, 6), 16)
    inputs_q[1, :3] = 0
    _check_against_golden(network, inputs_q)


@pytest.mark.parametrize("folding", [2, 3], ids=["rom", "multiplexed"])
def test_folded_weight_fields_all_kinds(folding: int) -> None:
    """Folded slots that are all zero, all negative, all positive, or mixed in sign,
    through the weight ROM (F = 8) and through multiplexed constant comparators (F = 6)."""
    spec = layer("a", 15, 4, weight_rng=LFSR_ROTATED, input_rng=SOBOL_INDEPENDENT,
                 folding=folding)
    assert spec.fold_cycles == (8 if folding == 2 else 6)
    rng = np.random.default_rng(5)
    magnitude = rng.integers(1, 16, size=(4, 16))
    even = np.arange(16) % 2 == 0  # with folding 2: slot 0 holds the even columns
    full = np.stack([
        np.where(even, -magnitude[0], 0),  # slot 0 all negative, slot 1 all zero
        magnitude[1],  # all positive
        magnitude[2] * rng.choice([-1, 1], size=16),  # mixed signs
        np.where(even, magnitude[3], -magnitude[3]),  # positive slot 0, negative slot 1
    ])
    network = Network(
        NetworkConfig("rom", (spec,)), (LayerWeights(full[:, :15], full[:, 15], 2),)
    )
    _check_against_golden(network, random_inputs(network, 3))


def test_start_is_ignored_while_busy() -> None:
    network = _build("stream-2-layers-folded-galois-sobol-leak")
    inputs_q = random_inputs(network, 1)
    expected = golden.run(network, inputs_q, engine="numpy").counts[-1][0]
    dut = ScNetwork(network)
    last = network.layers[-1]
    seen: dict[str, int] = {}

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.x.as_value(), pack_inputs(inputs_q[0], network.layers[0].precision))
        ctx.set(dut.start, 1)
        await ctx.tick()
        for edge in range(1, 4 * latency_cycles(network)):
            ctx.set(dut.start, int(edge % 5 == 0))  # pulses while busy
            if ctx.get(dut.done):
                seen["latency"] = edge
                break
            await ctx.tick()
        ctx.set(dut.start, 0)
        seen["counts"] = ctx.get(dut.counts.as_value())

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen["latency"] == latency_cycles(network)
    bits = last.count_bits
    got = [seen["counts"] >> (i * bits) & ((1 << bits) - 1) for i in range(last.n_out)]
    assert got == expected.tolist()


def test_latency_formula() -> None:
    stream = _build("stream-3-layers-mixed-folding")
    # L = 16, N = 3, P = max(4, 3, 1) = 4
    assert compute_cycles(stream) == (16 + 3 - 1) * 4
    assert latency_cycles(stream) == compute_cycles(stream) + 1
    regenerate = _build("regenerate-3-layers-lengths-and-precisions")
    assert compute_cycles(regenerate) == 16 * 1 + 32 * 2 + 16 * 4


def test_weight_memory_changes_the_rtl_not_the_spikes(tmp_path: Path) -> None:
    """Block RAM or LUTs for the weight ROM: other Verilog, another design, same spikes."""
    logic = random_network(
        [layer("a", 9, 3, weight_rng=LFSR_FIB, input_rng=VDC_PERMUTED, folding=1)],
        thresholds=[2], seed=9,
    )
    block_layer = logic.layers[0].with_knobs(weight_memory="block")
    block = Network(NetworkConfig("net", (block_layer,)), logic.weights)
    assert logic.layers[0].fold_cycles == 10 and block_layer.has_weight_rom
    texts = {}
    for name, network in (("logic", logic), ("block", block)):
        generate(network, tmp_path / name)
        texts[name] = (tmp_path / name / "sc_network.v").read_text()
    assert '(* rom_style = "logic" *)' in texts["logic"]
    assert '(* rom_style = "block" *)' in texts["block"]
    assert texts["logic"] != texts["block"]
    assert logic.design_hash != block.design_hash
    assert logic.weights_sha256 == block.weights_sha256
    inputs_q = random_inputs(logic, 3)
    runs = [simulate_network(network, inputs_q) for network in (logic, block)]
    for k in range(len(logic.layers)):
        assert np.array_equal(runs[0].spikes[k], runs[1].spikes[k])
    _check_against_golden(block, inputs_q)
