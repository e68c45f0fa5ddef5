"""The golden model against the contract (docs/arithmetic.md) and against itself."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from stochflow.hdl import golden
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.errors import SpecError
from stochflow.hdl.network import LayerWeights, Network
from test_hdl_golden_helpers import random_inputs, random_network, reference_run

ENGINES = ("numpy", "numba")

SOURCES = {
    "lfsr-fibonacci-permuted": RngSpec(width=9, seed=0x1A5, decorrelation="permuted"),
    "lfsr-galois-rotated": RngSpec(width=7, seed=0x35, structure="galois", decorrelation="rotated"),
    "lfsr-independent": RngSpec(width=10, seed=0x2C1, decorrelation="independent"),
    "lfsr-shared": RngSpec(width=8, seed=0x9B, decorrelation="shared"),
    "sobol-independent": RngSpec(kind="sobol", width=8, seed=3, dimension=2, decorrelation="independent"),
    "sobol-permuted": RngSpec(kind="sobol", width=6, seed=0, decorrelation="permuted"),
    "vdc-permuted": RngSpec(kind="vdc", width=7, seed=5, decorrelation="permuted"),
}


def _same(a: golden.GoldenResult, b: golden.GoldenResult) -> None:
    for k in range(len(a.counts)):
        assert np.array_equal(a.counts[k], b.counts[k]), f"layer {k} counts"
        assert np.array_equal(a.input_counts[k], b.input_counts[k]), f"layer {k} input counts"
        if a.spikes is not None and b.spikes is not None:
            assert np.array_equal(a.spikes[k], b.spikes[k]), f"layer {k} spikes"
    assert np.array_equal(a.predictions, b.predictions)


# --- a case worked by hand --------------------------------------------------------------


def _hand_network(membrane_init: str) -> Network:
    """One input, two neurons, p = 2, L = 16, van der Corput sources of width 2.

    Weight source (shared, start 0): u(t) = bitreverse2(t mod 4) = 0, 2, 1, 3, …
    Input q = 4 = 2^p, so x(t) = 1 always.
    Neuron 0: w = +3, bias −1, θ = 2:  wb = [u<3] = 1,1,1,0; bias bit [u<1] = 1,0,0,0
              c = 0, 1, 1, 0, … → from V0 = 0 it fires at t = 2, 6, 10, 14;
              from V0 = ⌊θ/2⌋ = 1 at t = 1, 5, 9, 13.
    Neuron 1: w = +3, bias +3: c = 2, 2, 2, 0, … → fires at every t ≢ 3 (mod 4).
    """
    layer = LayerConfig(
        "hand",
        1,
        2,
        bitstream_length=16,
        precision=2,
        weight_rng=RngSpec(kind="vdc", width=2, seed=0, decorrelation="shared"),
        input_rng=RngSpec(kind="vdc", width=2, seed=1, decorrelation="shared"),
        membrane_init=membrane_init,  # type: ignore[arg-type]
    )
    weights = LayerWeights(np.array([[3], [3]], dtype=np.int32), np.array([-1, 3], dtype=np.int32), 2)
    return Network(NetworkConfig("hand", (layer,)), (weights,))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("membrane_init", "first_spikes"), [("zero", [2, 6, 10, 14]), ("half_threshold", [1, 5, 9, 13])]
)
def test_hand_worked_case(engine: str, membrane_init: str, first_spikes: list[int]) -> None:
    network = _hand_network(membrane_init)
    result = golden.run(network, np.array([[4]]), record_spikes=True, engine=engine)  # type: ignore[arg-type]
    assert result.spikes is not None
    trains = result.spikes[0][0]
    assert list(np.flatnonzero(trains[:, 0])) == first_spikes
    assert list(np.flatnonzero(trains[:, 1])) == [t for t in range(16) if t % 4 != 3]
    assert result.counts[0].tolist() == [[4, 12]]
    assert result.input_counts[0].tolist() == [[16]]
    assert result.predictions.tolist() == [1]
    reference = reference_run(network, np.array([[4]]))
    assert np.array_equal(reference.spikes[0], result.spikes[0])


# --- the scalar transcription of the contract ---------------------------------------------


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_source_matches_scalar_reference(source: str) -> None:
    spec = SOURCES[source]
    network = random_network(
        [(5, 4), (4, 3)],
        weight_rngs=[spec, replace(spec, seed=(spec.seed + 1) % (1 << spec.width) or 1)],
        input_rngs=[RngSpec(width=11, seed=0x3F1, structure="galois"), None],
        precisions=[5, 4],
        lengths=[32, 32],
        seed=3,
    )
    inputs_q = random_inputs(network, 3)
    reference = reference_run(network, inputs_q)
    for engine in ENGINES:
        result = golden.run(network, inputs_q, record_spikes=True, engine=engine)  # type: ignore[arg-type]
        assert result.spikes is not None
        for k in range(2):
            assert np.array_equal(reference.spikes[k], result.spikes[k]), (engine, k)
            assert np.array_equal(reference.counts[k], result.counts[k]), (engine, k)


@pytest.mark.parametrize("engine", ENGINES)
def test_regenerate_matches_scalar_reference(engine: str) -> None:
    """Own lengths and precisions per layer, floored re-encoding when 2^p < L."""
    network = random_network(
        [(4, 5), (5, 4), (4, 3)],
        architecture="regenerate",
        lengths=[64, 32, 16],
        precisions=[6, 4, 5],
        seed=5,
    )
    inputs_q = random_inputs(network, 3)
    reference = reference_run(network, inputs_q)
    result = golden.run(network, inputs_q, record_spikes=True, engine=engine)  # type: ignore[arg-type]
    assert result.spikes is not None
    for k in range(3):
        assert np.array_equal(reference.spikes[k], result.spikes[k]), k
    assert result.spikes[1].shape == (3, 32, 4)
    # Layer 2 re-encodes layer 1's counts at p = 5 from L = 32: q = count exactly.
    q = golden.regenerated_inputs(result.counts[1], 32, 5)
    assert np.array_equal(q, result.counts[1])
    assert np.array_equal(golden.regenerated_inputs(np.array([[64, 63, 1]]), 64, 4), [[16, 15, 0]])


@pytest.mark.parametrize("engine", ENGINES)
def test_leak_matches_reference_and_matters(engine: str) -> None:
    changed = 0
    for seed in range(4):
        plain = random_network([(6, 4)], seed=seed, thresholds=[3])
        leaky = random_network([(6, 4)], seed=seed, thresholds=[3], leak=2)
        inputs_q = random_inputs(plain, 3, seed=seed)
        result = golden.run(leaky, inputs_q, record_spikes=True, engine=engine)  # type: ignore[arg-type]
        assert result.spikes is not None
        assert np.array_equal(reference_run(leaky, inputs_q).spikes[0], result.spikes[0]), seed
        changed += not np.array_equal(result.counts[0], golden.run(plain, inputs_q).counts[0])
    assert changed >= 2, f"leak changed the counts of only {changed} networks"


def _credit_network(membrane_bits: int) -> Network:
    """A drive that is strongly positive first and negative later.

    A width-15 Fibonacci LFSR from seed 1 (sparse taps) gives u = 0 for long runs at
    the start, then pseudo-random numbers: 32 weights of magnitude 1 fire only while
    u = 0, 8 weights of −15 almost always. So c = +24 early and ≈ −5.5 later: a wide
    membrane banks the early credit and fires throughout, a tight one saturates and
    stops firing once the drive turns negative.
    """
    layer = LayerConfig(
        "credit", 40, 1, bitstream_length=256, precision=4, membrane_bits=membrane_bits,
        membrane_init="zero", weight_rng=RngSpec(width=15, seed=1, decorrelation="shared"),
        input_rng=RngSpec(kind="vdc", width=4),
    )
    weights = LayerWeights(np.array([[1] * 32 + [-15] * 8]), np.array([0]), 1)
    return Network(NetworkConfig("credit", (layer,)), (weights,))


@pytest.mark.parametrize("engine", ENGINES)
def test_saturation_caps_banked_credit(engine: str) -> None:
    inputs_q = np.full((1, 40), 16)
    tight, wide = _credit_network(7), _credit_network(16)
    tight_counts = golden.run(tight, inputs_q, engine=engine).counts[0]  # type: ignore[arg-type]
    wide_counts = golden.run(wide, inputs_q, engine=engine).counts[0]  # type: ignore[arg-type]
    assert wide_counts.tolist() == [[256]]
    assert tight_counts.tolist() == [[164]]
    assert np.array_equal(reference_run(tight, inputs_q).counts[0], tight_counts)


# --- properties ----------------------------------------------------------------------------


def test_folding_never_changes_results() -> None:
    unfolded = random_network([(9, 5), (5, 3)], seed=4)
    inputs_q = random_inputs(unfolded, 4)
    expected = golden.run(unfolded, inputs_q, record_spikes=True)
    for folding in (1, 2, 4):
        config = unfolded.config
        layers = tuple(layer.with_knobs(folding=min(folding, layer.columns)) for layer in config.layers)
        folded = Network(replace(config, layers=layers), unfolded.weights)
        assert folded.design_hash != unfolded.design_hash
        _same(expected, golden.run(folded, inputs_q, record_spikes=True))


@pytest.mark.parametrize("engine", ENGINES)
def test_batch_equals_items(engine: str) -> None:
    network = random_network([(7, 6), (6, 4)], seed=8)
    inputs_q = random_inputs(network, 5)
    batch = golden.run(network, inputs_q, record_spikes=True, engine=engine)  # type: ignore[arg-type]
    for b in range(5):
        item = golden.run(network, inputs_q[b : b + 1], record_spikes=True, engine=engine)  # type: ignore[arg-type]
        assert item.spikes is not None and batch.spikes is not None
        for k in range(2):
            assert np.array_equal(item.counts[k][0], batch.counts[k][b])
            assert np.array_equal(item.spikes[k][0], batch.spikes[k][b])
    empty = golden.run(network, inputs_q[:0], engine=engine)  # type: ignore[arg-type]
    assert empty.predictions.shape == (0,) and empty.counts[1].shape == (0, 4)


@pytest.mark.parametrize("kernel", ["sparse", "packed"])
@pytest.mark.parametrize("architecture", ["stream", "regenerate"])
def test_fast_engine_equals_reference(kernel: str, architecture: str) -> None:
    """Wide enough to cross the int8 partial-sum chunk (120 columns), two packed words
    and the lane padding (10 outputs)."""
    network = random_network(
        [(130, 125), (125, 10)],
        architecture=architecture,
        precisions=[8, 7],
        lengths=[128, 64] if architecture == "regenerate" else [128, 128],
        thresholds=[6, 2],
        seed=21,
    )
    inputs_q = random_inputs(network, 6)
    fast = golden.GoldenModel(network, "numba", stream_kernel=kernel).run(inputs_q, record_spikes=True)
    slow = golden.GoldenModel(network, "numpy").run(inputs_q, record_spikes=True)
    _same(slow, fast)
    rates = [c.mean() / network.layers[k].bitstream_length for k, c in enumerate(slow.counts)]
    assert all(0.02 < rate < 0.98 for rate in rates), rates


def test_fast_engine_handles_wide_precision_and_leak() -> None:
    """p > 8 takes the int16 lanes; leak takes the other neuron loop."""
    network = random_network(
        [(20, 33), (33, 5)], precisions=[12, 10], thresholds=[40, 9], leak=1, seed=2,
        weight_rngs=[RngSpec(width=16, seed=0xACE1), RngSpec(width=12, seed=0x123)],
        input_rngs=[RngSpec(kind="sobol", width=14, dimension=3), None],
    )
    inputs_q = random_inputs(network, 4)
    for kernel in ("sparse", "packed"):
        fast = golden.GoldenModel(network, "numba", stream_kernel=kernel).run(inputs_q, record_spikes=True)
        _same(golden.GoldenModel(network, "numpy").run(inputs_q, record_spikes=True), fast)


def test_repeat_inference_restarts_sources() -> None:
    network = random_network([(5, 3)], seed=6)
    inputs_q = random_inputs(network, 1)
    twice = golden.run(network, np.concatenate([inputs_q, inputs_q]), record_spikes=True)
    assert twice.spikes is not None
    assert np.array_equal(twice.spikes[0][0], twice.spikes[0][1])


def test_activity_totals() -> None:
    network = random_network([(6, 4), (4, 3)], seed=9)
    inputs_q = random_inputs(network, 3)
    result = golden.run(network, inputs_q)
    activity = result.activity()
    assert [a.name for a in activity] == ["l0", "l1"]
    assert activity[1].input_spikes_total == int(result.counts[0].sum())  # stream: spikes before
    assert activity[0].synops == activity[0].input_spikes_total * 4
    assert activity[1].spikes_total == int(activity[1].spike_counts.sum())
    assert result.batch == 3


def test_predictions_take_lowest_index_of_a_tie() -> None:
    network = random_network([(3, 3)], seed=1)
    zero_weights = LayerWeights(np.zeros((3, 3), np.int32), np.array([5, 9, 9], np.int32), 1)
    tied = Network(network.config, (zero_weights,))
    result = golden.run(tied, np.zeros((2, 3), np.int32))
    assert result.counts[0][0, 1] == result.counts[0][0, 2] > result.counts[0][0, 0]
    assert result.predictions.tolist() == [1, 1]


# --- inputs ----------------------------------------------------------------------------------


def test_quantise_inputs_rounds_half_even_and_clips() -> None:
    x = np.array([[0.0, 1 / 16, 3 / 32, 5 / 32, 0.5, 1.0, 1.7, -0.2]])
    # 3/32·16 = 1.5 → 2, 5/32·16 = 2.5 → 2 (half to even)
    assert golden.quantise_inputs(x, 4).tolist() == [[0, 1, 2, 2, 8, 16, 16, 0]]
    assert golden.quantise_inputs(x, 4).dtype == np.int32
    with pytest.raises(SpecError, match="inputs"):
        golden.quantise_inputs(np.array([[np.nan]]), 4)


def test_bad_inputs_name_the_problem() -> None:
    network = random_network([(3, 2)], seed=1)
    with pytest.raises(SpecError, match=r"inputs: expected shape \(batch, 3\)"):
        golden.run(network, np.zeros((2, 4), np.int32))
    with pytest.raises(SpecError, match="quantised integers"):
        golden.run(network, np.zeros((2, 3)))
    with pytest.raises(SpecError, match="0…64"):
        golden.run(network, np.full((1, 3), 65))
    with pytest.raises(SpecError, match="engine"):
        golden.GoldenModel(network, "fast")  # type: ignore[arg-type]
