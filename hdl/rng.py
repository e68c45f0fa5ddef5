"""Reference random sequences: the exact numbers the RTL sources produce.

Both the golden model and the Amaranth components take their constants from here
(seeds, permutations, direction numbers), so there is one definition of every
sequence. Semantics are in ``docs/arithmetic.md``; every function here is a direct,
vectorised transcription of it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .config import RngSpec
from .errors import SpecError
from .sobol_table import JOE_KUO_DIRECTIONS, MAX_DIMENSION

_MASK64 = (1 << 64) - 1


def splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64 (Steele, Lea, Flood 2014): returns (next state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


@lru_cache(maxsize=4096)
def stream_permutation(stream: int, width: int) -> tuple[int, ...]:
    """``perm_j``: bit ``i`` of stream ``j``'s number is bit ``perm[i]`` of the source.

    Stream 0 sees the source unchanged; stream ``j ≥ 1`` sees a Fisher–Yates shuffle
    of ``0..width-1`` driven by SplitMix64 seeded with ``j``.
    """
    perm = list(range(width))
    if stream == 0:
        return tuple(perm)
    state = stream
    for i in range(width - 1, 0, -1):
        state, out = splitmix64(state)
        k = out % (i + 1)
        perm[i], perm[k] = perm[k], perm[i]
    return tuple(perm)


def derived_seed(seed: int, stream: int, width: int) -> int:
    """Seed of stream ``j`` for ``independent`` LFSRs: SplitMix64-derived, never zero."""
    if stream == 0:
        return seed
    _, out = splitmix64((seed << 20) ^ stream)
    return out % ((1 << width) - 1) + 1


def rotl(value: int, amount: int, width: int) -> int:
    amount %= width
    mask = (1 << width) - 1
    return ((value << amount) | (value >> (width - amount))) & mask if amount else value


def lfsr_sequence(
    polynomial: int, seed: int, width: int, length: int, structure: str = "fibonacci"
) -> np.ndarray:
    """States ``r(0) … r(length-1)`` of an LFSR started at ``seed`` (``r(0) = seed``)."""
    out = np.empty(length, dtype=np.uint64)
    mask = (1 << width) - 1
    state = seed
    if structure == "fibonacci":
        for t in range(length):
            out[t] = state
            feedback = (state & polynomial).bit_count() & 1
            state = ((state << 1) | feedback) & mask
    elif structure == "galois":
        for t in range(length):
            out[t] = state
            state = (state >> 1) ^ (polynomial if state & 1 else 0)
    else:
        raise SpecError("structure", f"expected fibonacci or galois, got {structure!r}")
    return out


@lru_cache(maxsize=512)
def sobol_directions(dimension: int, width: int) -> tuple[int, ...]:
    """Direction numbers ``V_1 … V_width`` (as ``width``-bit integers) of a Sobol dimension."""
    if not 1 <= dimension <= MAX_DIMENSION:
        raise SpecError(
            "dimension", f"Sobol dimensions 1…{MAX_DIMENSION} are tabulated, got {dimension}"
        )
    _, poly, m_init = JOE_KUO_DIRECTIONS[dimension - 1]
    if dimension == 1:
        m = [1] * width
    else:
        degree = poly.bit_length() - 1
        m = list(m_init[:width])
        for i in range(degree, width):
            value = m[i - degree] ^ (m[i - degree] << degree)
            for k in range(1, degree):
                if poly >> (degree - k) & 1:
                    value ^= m[i - k] << k
            m.append(value)
    return tuple(m[i] << (width - 1 - i) for i in range(width))


def _gray(n: int) -> int:
    return n ^ (n >> 1)


def sobol_sequence(dimension: int, width: int, length: int, start: int = 0) -> np.ndarray:
    """Points ``start … start+length-1`` of a Sobol dimension in Gray-code order."""
    directions = sobol_directions(dimension, width)
    period = 1 << width
    index = np.arange(start, start + length, dtype=np.uint64) % np.uint64(period)
    gray = index ^ (index >> np.uint64(1))
    out = np.zeros(length, dtype=np.uint64)
    for bit, direction in enumerate(directions):
        out ^= np.where((gray >> np.uint64(bit)) & np.uint64(1), np.uint64(direction), np.uint64(0))
    return out


def vdc_sequence(width: int, length: int, start: int = 0) -> np.ndarray:
    """Base-2 van der Corput: ``bitreverse_width((start + t) mod 2^width)``."""
    index = np.arange(start, start + length, dtype=np.uint64) % np.uint64(1 << width)
    out = np.zeros(length, dtype=np.uint64)
    for bit in range(width):
        out |= ((index >> np.uint64(bit)) & np.uint64(1)) << np.uint64(width - 1 - bit)
    return out


def source_sequence(spec: RngSpec, length: int, stream: int = 0) -> np.ndarray:
    """The raw ``width``-bit numbers of the source register that feeds ``stream``.

    For ``shared`` and ``permuted`` every stream reads register 0; ``rotated`` and
    ``independent`` give each stream its own register (own seed or Sobol dimension).
    """
    own_register = spec.decorrelation in ("rotated", "independent")
    register = stream if own_register else 0
    if spec.kind == "lfsr":
        assert spec.polynomial is not None
        if spec.decorrelation == "rotated":
            seed = rotl(spec.seed, register, spec.width)
        elif spec.decorrelation == "independent":
            seed = derived_seed(spec.seed, register, spec.width)
        else:
            seed = spec.seed
        return lfsr_sequence(spec.polynomial, seed, spec.width, length, spec.structure)
    if spec.kind == "sobol":
        return sobol_sequence(spec.dimension + register, spec.width, length, spec.seed)
    return vdc_sequence(spec.width, length, spec.seed)


def register_count(spec: RngSpec, streams: int) -> int:
    """How many source registers the hardware instantiates for ``streams`` streams."""
    return streams if spec.decorrelation in ("rotated", "independent") else 1


def check_streams(spec: RngSpec, streams: int, field: str = "rng") -> None:
    """Refuse a source that cannot feed ``streams`` distinct streams as asked."""
    if spec.kind == "sobol" and spec.decorrelation == "independent":
        last = spec.dimension + streams - 1
        if last > MAX_DIMENSION:
            raise SpecError(
                f"{field}.dimension",
                f"independent Sobol streams need dimensions {spec.dimension}…{last}; "
                f"the table has 1…{MAX_DIMENSION}",
            )


def permute_bits(values: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """Apply ``perm`` (bit ``i`` ← bit ``perm[i]``) to an array of integers."""
    out = np.zeros_like(values)
    for i, src in enumerate(perm):
        out |= ((values >> np.uint64(src)) & np.uint64(1)) << np.uint64(i)
    return out


def stream_numbers(spec: RngSpec, streams: int, length: int, precision: int) -> np.ndarray:
    """``u_j(t)``: the top ``precision`` bits each stream compares, shape ``(length, streams)``.

    This is the whole random side of a comparator bank, cached by the golden model.
    """
    if precision > spec.width:
        raise SpecError(
            "precision", f"precision {precision} is wider than the {spec.width}-bit source"
        )
    check_streams(spec, streams)
    shift = np.uint64(spec.width - precision)
    out = np.empty((length, streams), dtype=np.uint32)
    if spec.decorrelation in ("shared", "permuted"):
        base = source_sequence(spec, length)
        for j in range(streams):
            values = base
            if spec.decorrelation == "permuted" and j:
                values = permute_bits(base, stream_permutation(j, spec.width))
            out[:, j] = (values >> shift).astype(np.uint32)
    else:
        for j in range(streams):
            out[:, j] = (source_sequence(spec, length, j) >> shift).astype(np.uint32)
    return out
