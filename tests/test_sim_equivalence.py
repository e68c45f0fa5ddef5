"""The RTL on Verilator is bit-exact with the golden model across the design space.

The matrix's 30 configurations span every source kind (Fibonacci and Galois LFSRs,
Sobol, van der Corput), every decorrelation mode, source widths 2…32, lengths 16…256,
precisions 2…8, folding on and off, signed and unsigned weights, leak, both membrane
starts, both architectures and 1–3 layers, on random and held-out dataset inputs. They
are packed eleven to a model and simulated side by side, once per test run however the
tests are spread over workers, so the whole matrix costs three model builds. Two deliberately wrong expectations ride along
to prove the bench reports a difference where there is one.

Needs Verilator, a C++ compiler and cocotb: without them these tests fail.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from stochflow.hdl.network import LayerWeights, Network
from stochflow.sim.runner import DesignUnderTest, SimulationCase, SimulationResult, simulate_many
from test_sim_helpers import MATRIX, shared_once, sim_cache, sim_shared  # noqa: F401

pytestmark = pytest.mark.xdist_group("sim_matrix")

WRONG_WEIGHT, WRONG_LATENCY = "expects_a_flipped_weight", "expects_one_cycle_more"
SOURCE_OF_WRONG = "s1_fib8_perm_L16_p4"
GROUP_SIZE = 11


def _flipped(network: Network) -> tuple[Network, int]:
    """The network with neuron 0's largest weight of layer 0 negated."""
    first = network.weights[0]
    weights = first.weights.copy()
    column = int(np.argmax(np.abs(weights[0])))
    weights[0, column] = -weights[0, column]
    changed = LayerWeights(weights, first.bias, first.threshold, first.clip_fraction)
    return Network(network.config, (changed, *network.weights[1:])), column


def _run_matrix(root: Path, cache: Path) -> dict[str, SimulationResult]:
    started = time.perf_counter()
    cases = []
    for name, case in MATRIX.items():
        network, vectors = case.build(name)
        design = DesignUnderTest.generate(network, root / "designs" / name, label=name)
        cases.append(SimulationCase(design, vectors.inputs_q))
    source = cases[list(MATRIX).index(SOURCE_OF_WRONG)]
    flipped, _ = _flipped(source.design.network)
    cases.append(SimulationCase(replace(source.design, network=flipped, label=WRONG_WEIGHT),
                                source.inputs_q))
    cases.append(SimulationCase(
        replace(source.design, latency_cycles=source.design.latency_cycles + 1,
                label=WRONG_LATENCY), source.inputs_q))
    generated = time.perf_counter()
    results = simulate_many(cases, root / "models", group_size=GROUP_SIZE, jobs=2,
                            cache_dir=cache)
    finished = time.perf_counter()
    builds = {result.build.key: result.build for result in results}
    print(f"\nmatrix: {len(cases)} designs, networks + RTL {generated - started:.1f} s, "
          f"{len(builds)} models built and run in {finished - generated:.1f} s "
          f"(build CPU {sum(b.cpu_seconds for b in builds.values()):.1f} s)")
    return {result.label: result for result in results}


@pytest.fixture(scope="module")
def matrix(sim_shared: Path, sim_cache: Path) -> dict[str, SimulationResult]:  # noqa: F811
    """The whole matrix, simulated once per test run whichever workers its tests reach."""
    return shared_once(sim_shared, "matrix",
                       lambda: _run_matrix(sim_shared / "matrix", sim_cache))


def test_matrix_is_wide_enough() -> None:
    assert len(MATRIX) >= 30
    kinds = {(layer.weight_rng.kind, layer.weight_rng.structure if layer.weight_rng.kind == "lfsr"
              else "") for case in MATRIX.values() for layer in case.layers}
    assert kinds >= {("lfsr", "fibonacci"), ("lfsr", "galois"), ("sobol", ""), ("vdc", "")}
    sources = [rng for case in MATRIX.values() for layer in case.layers
               for rng in (layer.weight_rng, layer.input_rng) if rng is not None]
    assert {rng.decorrelation for rng in sources} == {"shared", "permuted", "rotated",
                                                       "independent"}
    layers = [layer for case in MATRIX.values() for layer in case.layers]
    assert {layer.bitstream_length for layer in layers} >= {16, 32, 64, 128, 256}
    assert {layer.precision for layer in layers} >= set(range(2, 9))
    assert {layer.membrane_init for layer in layers} == {"zero", "half_threshold"}
    assert any(layer.leak for layer in layers) and any(not layer.leak for layer in layers)
    assert any(layer.fold_cycles > 1 for layer in layers)
    assert any(layer.fold_cycles == 1 for layer in layers)
    assert {case.architecture for case in MATRIX.values()} == {"stream", "regenerate"}
    assert {len(case.layers) for case in MATRIX.values()} == {1, 2, 3}
    assert {case.signed for case in MATRIX.values()} == {True, False}
    assert {case.dataset for case in MATRIX.values()} == {True, False}


@pytest.mark.parametrize("name", list(MATRIX))
def test_rtl_matches_golden_model(name: str, matrix: dict[str, SimulationResult]) -> None:
    result = matrix[name]
    assert result.bit_exact, result.summary()
    assert result.vectors_matched == result.vectors == MATRIX[name].vectors
    expected = result.expected
    assert expected is not None
    latency = result.latencies[0]
    assert result.latencies == [latency] * result.vectors
    assert result.cycles == latency * result.vectors
    for k, counts in enumerate(result.spike_counts):  # the case exercises something
        length = MATRIX[name].layers[k].bitstream_length
        rate = counts.sum() / (counts.size * length * result.vectors)
        assert 0.05 <= rate <= 0.95, (k, rate)
        assert np.array_equal(counts, expected.counts[k].sum(axis=0))
    assert np.array_equal(result.observed_counts, expected.counts[-1])


def test_a_wrong_weight_is_reported_at_its_first_spike(matrix: dict[str, SimulationResult]) -> None:
    result = matrix[WRONG_WEIGHT]
    assert not result.bit_exact
    assert result.vectors_matched < result.vectors
    difference = result.first_difference
    assert difference is not None and difference.kind == "spikes"
    assert difference.layer == 0 and difference.neuron == 0
    assert difference.expected != difference.got
    first = matrix[SOURCE_OF_WRONG].expected
    assert first is not None and first.spikes is not None
    # The RTL's spike where the flipped model disagrees is the true network's.
    assert difference.got == int(first.spikes[0][difference.vector, difference.bit_period, 0])
    text = difference.describe()
    assert f"vector {difference.vector}" in text and "layer 0 (a)" in text
    assert f"bit-period {difference.bit_period}" in text


def test_a_wrong_latency_is_reported(matrix: dict[str, SimulationResult]) -> None:
    result = matrix[WRONG_LATENCY]
    assert not result.bit_exact and result.vectors_matched == 0
    difference = result.first_difference
    assert difference is not None and difference.kind == "latency" and difference.vector == 0
    assert difference.got == difference.expected - 1 == matrix[SOURCE_OF_WRONG].latencies[0]


def test_grouped_models_compile_each_design_once(matrix: dict[str, SimulationResult]) -> None:
    builds = {result.build.key for result in matrix.values()}
    assert len(builds) == -(-(len(MATRIX) + 2) // GROUP_SIZE)
    assert all(Path(result.work_dir).is_dir() for result in matrix.values())
