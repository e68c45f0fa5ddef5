"""The folded layer forms on Verilator: deep weight ROMs in LUTs and in block RAM, slots
that are all positive, all negative, all zero or mixed in sign, leak, both architectures.

The wide equivalence matrix (tests/test_sim_equivalence.py) spans the random sources;
these cases span the weight ROM, simulated side by side in one model.
Needs Verilator, a C++ compiler and cocotb: without them these tests fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stochflow.hdl.config import NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.sim.runner import DesignUnderTest, SimulationCase, SimulationResult, simulate_many
from test_hdl_rtl_helpers import layer, random_inputs, random_network
from test_sim_helpers import sim_cache, sim_shared  # noqa: F401 — fixtures

pytestmark = pytest.mark.slow

FIB8 = RngSpec(width=8, seed=0x2B, decorrelation="permuted")
GAL10 = RngSpec(width=10, seed=0x2C1, structure="galois", decorrelation="independent")
SOBOL8 = RngSpec(kind="sobol", width=8, seed=3, decorrelation="permuted")
FIB16 = RngSpec(width=16, seed=0xACE1, decorrelation="permuted")


def _signed_slots(n_in: int, n_out: int, folding: int, precision: int, seed: int) -> LayerWeights:
    """Weights whose slots (column mod ``folding``) are, by neuron, all negative, all
    positive, mixed, and zero in every other slot."""
    rng = np.random.default_rng(seed)
    limit = (1 << precision) - 1
    magnitude = rng.integers(1, limit + 1, size=(n_out, n_in + 1))
    slot = np.arange(n_in + 1) % folding
    kinds = [np.where(slot == 0, -magnitude[0], 0),
             magnitude[1],
             magnitude[2] * rng.choice([-1, 1], size=n_in + 1),
             np.where(slot % 2 == 0, magnitude[3], -magnitude[3])]
    full = np.stack([kinds[i % 4] if i < 4 else magnitude[i] * rng.choice([-1, 1], size=n_in + 1)
                     for i in range(n_out)])
    return LayerWeights(full[:, :n_in], full[:, n_in], max(1, (n_in + 1) // 8))


def _rom_layer(name: str, n_in: int, n_out: int, seed: int, **knobs: object) -> Network:
    config = layer(name, n_in, n_out, **knobs)
    assert config.folding is not None
    weights = _signed_slots(n_in, n_out, config.folding, config.precision, seed)
    return Network(NetworkConfig("rom", (config,)), (weights,))


CASES: dict[str, Network] = {
    "deep_logic_rom_leak": _rom_layer(
        "a", 20, 5, 1, weight_rng=FIB8, input_rng=SOBOL8, folding=1, leak=1),
    "block_rom_two_slots": _rom_layer(
        "a", 20, 5, 2, weight_rng=GAL10, input_rng=FIB8, folding=2, weight_memory="block",
        membrane_init="zero"),
    "deep_rom_p8_L64": _rom_layer(
        "a", 40, 4, 3, bitstream_length=64, precision=8, weight_rng=FIB16, input_rng=FIB16,
        folding=1),
    "stream_rom_then_multiplexed": random_network([
        layer("a", 16, 6, weight_rng=SOBOL8, input_rng=FIB8, folding=2, leak=1),
        layer("b", 6, 3, weight_rng=FIB8, folding=1),
    ], thresholds=[2, 1], seed=13),
    "regenerate_block_rom": random_network([
        layer("a", 12, 5, weight_rng=FIB8, input_rng=GAL10, folding=1, weight_memory="block"),
        layer("b", 5, 3, bitstream_length=32, weight_rng=GAL10, input_rng=SOBOL8, folding=1,
              leak=1),
    ], architecture="regenerate", thresholds=[2, 1], seed=14),
}


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory, sim_cache: Path  # noqa: F811
) -> dict[str, SimulationResult]:
    root = tmp_path_factory.mktemp("rom-forms")
    cases = []
    for name, network in CASES.items():
        design = DesignUnderTest.generate(network, root / "designs" / name, label=name)
        cases.append(SimulationCase(design, random_inputs(network, 4, seed=len(name))))
    simulated = simulate_many(cases, root / "models", group_size=len(cases), jobs=1,
                              cache_dir=sim_cache)
    return {result.label: result for result in simulated}


def test_cases_cover_the_rom_forms() -> None:
    layers = [lay for network in CASES.values() for lay in network.layers]
    assert {lay.weight_memory for lay in layers if lay.has_weight_rom} == {"logic", "block"}
    assert max(lay.fold_cycles for lay in layers) > 32  # deeper than 16 + 1 rows
    assert any(1 < lay.fold_cycles < 8 for lay in layers)


@pytest.mark.parametrize("name", list(CASES))
def test_rom_forms_match_the_golden_model(name: str, results: dict[str, SimulationResult]) -> None:
    result = results[name]
    assert result.bit_exact, result.summary()
    assert result.vectors_matched == result.vectors == 4
    for k, counts in enumerate(result.spike_counts):  # every layer exercises something
        length = CASES[name].layers[k].bitstream_length
        rate = counts.sum() / (counts.size * length * result.vectors)
        assert 0.1 <= rate <= 0.9, (k, rate)
