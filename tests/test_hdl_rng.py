"""Reference random sequences (stochflow.hdl.rng) against the contract and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc
from stochflow.hdl import rng
from stochflow.hdl.config import RngSpec
from stochflow.hdl.errors import SpecError
from stochflow.hdl.lfsr_taps import XAPP052_TAPS, default_polynomial, is_primitive, mask_to_taps
from stochflow.hdl.sobol_table import JOE_KUO_DIRECTIONS, MAX_DIMENSION
from test_hdl_golden_helpers import comparator_numbers, sobol_numbers


def _period(polynomial: int, width: int, structure: str) -> int:
    sequence = rng.lfsr_sequence(polynomial, 1, width, (1 << width) + 1, structure)
    repeats = np.flatnonzero(sequence[1:] == 1)
    return int(repeats[0]) + 1 if repeats.size else 0


def test_lfsr_first_states_by_hand() -> None:
    """Width 4, taps x^4 + x^3 + 1 (mask 0b1100), seed 1."""
    fibonacci = [1, 2, 4, 9, 3, 6, 13, 10, 5, 11, 7, 15, 14, 12, 8, 1]
    galois = [1, 12, 6, 3, 13, 10, 5, 14, 7, 15, 11, 9, 8, 4, 2, 1]
    assert rng.lfsr_sequence(0b1100, 1, 4, 16, "fibonacci").tolist() == fibonacci
    assert rng.lfsr_sequence(0b1100, 1, 4, 16, "galois").tolist() == galois


@pytest.mark.parametrize("structure", ["fibonacci", "galois"])
def test_table_polynomials_have_full_period(structure: str) -> None:
    for width in range(3, 17):
        sequence = rng.lfsr_sequence(default_polynomial(width), 1, width, (1 << width) - 1, structure)
        assert len(set(sequence.tolist())) == (1 << width) - 1, width
        assert 0 not in sequence
        assert _period(default_polynomial(width), width, structure) == (1 << width) - 1


def test_every_table_polynomial_is_primitive() -> None:
    for width, taps in XAPP052_TAPS.items():
        assert is_primitive(default_polynomial(width), width), width
        assert mask_to_taps(default_polynomial(width)) == taps


@pytest.mark.parametrize("structure", ["fibonacci", "galois"])
def test_is_primitive_agrees_with_brute_force(structure: str) -> None:
    for width in range(3, 9):
        for mask in range(1 << (width - 1), 1 << width):
            maximal = _period(mask, width, structure) == (1 << width) - 1
            assert is_primitive(mask, width) == maximal, (width, hex(mask))


@pytest.mark.parametrize("width", [10, 16])
def test_sobol_equals_scipy_unscrambled(width: int) -> None:
    dims = 12
    points = qmc.Sobol(dims, scramble=False, bits=width).random(256)
    expected = np.rint(points * (1 << width)).astype(np.uint64)
    for d in range(1, dims + 1):
        assert np.array_equal(rng.sobol_sequence(d, width, 256), expected[:, d - 1]), d
    engine = qmc.Sobol(dims, scramble=False, bits=width)
    engine.fast_forward(37)
    later = np.rint(engine.random(64) * (1 << width)).astype(np.uint64)
    for d in (1, 5, 12):
        assert np.array_equal(rng.sobol_sequence(d, width, 64, start=37), later[:, d - 1])


def test_sobol_gray_code_recurrence_and_wrap() -> None:
    """The contract's recurrence (r(t+1) = r(t) ^ V_{c+1}) through the wrap at 2^w."""
    for dimension, start in ((1, 0), (3, 5), (7, 250)):
        direct = rng.sobol_sequence(dimension, 8, 600, start=start).tolist()
        assert direct == sobol_numbers(dimension, 8, start, 600)
    assert rng.sobol_sequence(2, 6, 128).tolist()[:64] == rng.sobol_sequence(2, 6, 128).tolist()[64:]


def test_sobol_table_equals_scipy() -> None:
    import scipy.stats

    path = f"{scipy.stats.__path__[0]}/_sobol_direction_numbers.npz"
    with np.load(path) as data:
        polys, vinit = data["poly"], data["vinit"]
    assert len(JOE_KUO_DIRECTIONS) == MAX_DIMENSION == 256
    for index, (dimension, poly, m_init) in enumerate(JOE_KUO_DIRECTIONS):
        assert dimension == index + 1
        assert poly == polys[index]
        assert list(m_init) == vinit[index, : len(m_init)].tolist()
        if index:
            assert len(m_init) == int(poly).bit_length() - 1


def test_van_der_corput_is_bit_reversal() -> None:
    assert rng.vdc_sequence(3, 10).tolist() == [0, 4, 2, 6, 1, 5, 3, 7, 0, 4]
    assert rng.vdc_sequence(4, 3, start=6).tolist() == [6, 14, 1]
    # Sobol dimension 1 is van der Corput taken in Gray-code order: same points, other order.
    assert sorted(rng.vdc_sequence(9, 512).tolist()) == sorted(rng.sobol_sequence(1, 9, 512).tolist())
    gray = [n ^ (n >> 1) for n in range(512)]
    assert rng.sobol_sequence(1, 9, 512).tolist() == rng.vdc_sequence(9, 512)[gray].tolist()


def test_stream_permutations_are_permutations() -> None:
    for width in (2, 5, 8, 16, 32):
        assert rng.stream_permutation(0, width) == tuple(range(width))
        seen = set()
        for stream in range(1, 300):
            perm = rng.stream_permutation(stream, width)
            assert sorted(perm) == list(range(width))
            seen.add(perm)
        if width >= 8:
            assert len(seen) > 250  # streams really differ


def test_derived_seeds_are_never_zero() -> None:
    for width in (3, 4, 8, 16, 32):
        for seed in (1, 5, (1 << width) - 1):
            assert rng.derived_seed(seed, 0, width) == seed
            for stream in range(1, 500):
                value = rng.derived_seed(seed, stream, width)
                assert 1 <= value < (1 << width)


@pytest.mark.parametrize(
    "spec",
    [
        RngSpec(width=9, seed=0x1A5, decorrelation="shared"),
        RngSpec(width=9, seed=0x1A5, decorrelation="permuted"),
        RngSpec(width=7, seed=0x35, structure="galois", decorrelation="rotated"),
        RngSpec(width=10, seed=0x2C1, decorrelation="independent"),
        RngSpec(kind="sobol", width=8, seed=3, dimension=2, decorrelation="independent"),
        RngSpec(kind="sobol", width=6, decorrelation="permuted"),
        RngSpec(kind="vdc", width=7, seed=5, decorrelation="shared"),
    ],
    ids=lambda spec: f"{spec.label}-{spec.decorrelation}",
)
def test_stream_numbers_follow_the_contract(spec: RngSpec) -> None:
    numbers = rng.stream_numbers(spec, 11, 40, 5)
    assert numbers.shape == (40, 11)
    assert numbers.max() < 32
    assert numbers.tolist() == comparator_numbers(spec, 11, 40, 5)
    if spec.decorrelation == "shared":
        assert (numbers == numbers[:, :1]).all()


def test_rotated_streams_repeat_every_width() -> None:
    spec = RngSpec(width=7, seed=0x35, decorrelation="rotated")
    numbers = rng.stream_numbers(spec, 15, 30, 7)
    assert np.array_equal(numbers[:, 0], numbers[:, 7])
    assert np.array_equal(numbers[:, 1], numbers[:, 8])
    assert numbers[0, 1] == rng.rotl(0x35, 1, 7)


def test_stream_numbers_refuse_what_the_source_cannot_give() -> None:
    with pytest.raises(SpecError, match="precision"):
        rng.stream_numbers(RngSpec(width=8), 3, 16, 9)
    with pytest.raises(SpecError, match=r"rng\.dimension: independent Sobol streams need dimensions 250…"):
        rng.stream_numbers(RngSpec(kind="sobol", dimension=250, decorrelation="independent"), 10, 16, 8)
