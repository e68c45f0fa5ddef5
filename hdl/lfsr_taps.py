"""Maximal-length LFSR feedback polynomials and a primitivity test.

The table gives, for every width 3…32, one primitive feedback polynomial as a tap
mask (bit ``k-1`` set for the term ``x^k``; the ``+1`` term is implicit). The taps are
those of Xilinx XAPP052 ("Efficient Shift Registers, LFSR Counters, and Long
Pseudo-Random Sequence Generators", Table 3). ``is_primitive`` checks any mask, so a
user-given polynomial is verified, not looked up.
"""

from __future__ import annotations

from functools import cache

# XAPP052 Table 3: taps for maximal-length LFSRs, widths 3 to 32.
XAPP052_TAPS: dict[int, tuple[int, ...]] = {
    3: (3, 2),
    4: (4, 3),
    5: (5, 3),
    6: (6, 5),
    7: (7, 6),
    8: (8, 6, 5, 4),
    9: (9, 5),
    10: (10, 7),
    11: (11, 9),
    12: (12, 6, 4, 1),
    13: (13, 4, 3, 1),
    14: (14, 5, 3, 1),
    15: (15, 14),
    16: (16, 15, 13, 4),
    17: (17, 14),
    18: (18, 11),
    19: (19, 6, 2, 1),
    20: (20, 17),
    21: (21, 19),
    22: (22, 21),
    23: (23, 18),
    24: (24, 23, 22, 17),
    25: (25, 22),
    26: (26, 6, 2, 1),
    27: (27, 5, 2, 1),
    28: (28, 25),
    29: (29, 27),
    30: (30, 6, 4, 1),
    31: (31, 28),
    32: (32, 22, 2, 1),
}

MIN_WIDTH = 3
MAX_WIDTH = 32


def taps_to_mask(taps: tuple[int, ...] | list[int]) -> int:
    """Tap exponents (e.g. ``(16, 15, 13, 4)``) to the tap mask used everywhere else."""
    mask = 0
    for tap in taps:
        mask |= 1 << (tap - 1)
    return mask


def mask_to_taps(mask: int) -> tuple[int, ...]:
    """Tap mask back to exponents, highest first."""
    return tuple(k + 1 for k in range(mask.bit_length() - 1, -1, -1) if mask >> k & 1)


def default_polynomial(width: int) -> int:
    """The table's maximal-length tap mask for ``width``."""
    return taps_to_mask(XAPP052_TAPS[width])


def _prime_factors(n: int) -> list[int]:
    factors: list[int] = []
    d = 2
    while d * d <= n:
        if n % d == 0:
            factors.append(d)
            while n % d == 0:
                n //= d
        d += 1 if d == 2 else 2
    if n > 1:
        factors.append(n)
    return factors


def _mulmod(a: int, b: int, modulus: int, degree: int) -> int:
    """Product of two GF(2) polynomials reduced modulo ``modulus`` (of ``degree``)."""
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if a >> degree & 1:
            a ^= modulus
    return result


def _powmod_x(exponent: int, modulus: int, degree: int) -> int:
    result, base = 1, 0b10
    while exponent:
        if exponent & 1:
            result = _mulmod(result, base, modulus, degree)
        base = _mulmod(base, base, modulus, degree)
        exponent >>= 1
    return result


@cache
def is_primitive(mask: int, width: int) -> bool:
    """Whether the tap mask gives a maximal-length (period ``2^width - 1``) LFSR.

    The feedback polynomial is ``1 + Σ x^k`` over the taps; it is primitive exactly when
    ``x`` has multiplicative order ``2^width - 1`` modulo it. The reciprocal of a
    primitive polynomial is primitive too, so Fibonacci and Galois forms agree.
    """
    if width < 2 or mask >> width or not mask >> (width - 1) & 1:
        return False
    modulus = mask << 1 | 1  # 1 + Σ x^k
    order = (1 << width) - 1
    if _powmod_x(order, modulus, width) != 1:
        return False
    return all(_powmod_x(order // q, modulus, width) != 1 for q in _prime_factors(order))
