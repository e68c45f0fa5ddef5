"""Arithmetic building blocks written as plain gates where that is what synthesis needs.

Why not ``<`` and ``+`` everywhere: Yosys maps every comparison and addition to a
carry chain (``$alu``), which the LUT mapper (ABC) cannot see through. A comparison
with a constant is a small AND/OR chain, and a parallel counter's first levels are
full adders; written as gates, they merge with the logic around them (the AND
multiply, the comparator) into far fewer LUTs. Only the final, wide additions stay
``+`` and use the carry chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value

__all__ = [
    "at_least_constant",
    "clamp_signed",
    "less_than_constant",
    "popcount",
    "saturation_flags",
]


def less_than_constant(value: Value, constant: int) -> Value:
    """``value < constant`` for an unsigned ``value``, as an AND/OR chain.

    Walking from the least significant bit, ``lt`` says "the bits seen so far are less":
    at a 1 of the constant ``lt = ~v | lt``, at a 0 ``lt = ~v & lt``.
    """
    value = Value.cast(value)
    width = len(value)
    if constant <= 0:
        return Const(0, 1)
    if constant >= 1 << width:
        return Const(1, 1)
    lowest_one = (constant & -constant).bit_length() - 1
    result: Value = ~value[lowest_one]  # below the lowest 1 of the constant, lt stays 0
    for bit in range(lowest_one + 1, width):
        one = constant >> bit & 1
        result = (~value[bit] | result) if one else (~value[bit] & result)
    return result


def at_least_constant(value: Value, constant: int) -> Value:
    """``value >= constant`` for a signed ``value`` and ``0 ≤ constant < 2^(len-1)``."""
    value = Value.cast(value)
    low_bits = value[: len(value) - 1]
    return ~value[-1] & ~less_than_constant(low_bits, constant)


def popcount(m: Module, bits: Sequence[Value], name: str = "pc") -> Value:
    """Number of ones: a full-adder (3:2) compressor tree, then one carry-chain addition.

    Every adder output is a named wire: an expression used twice (sum and carry) would
    otherwise be copied into both, doubling at every level of the tree.
    """
    columns: list[list[Value]] = [[Value.cast(bit) for bit in bits]]
    if not columns[0]:
        return Const(0, 1)
    adders = 0
    while any(len(column) > 2 for column in columns):
        reduced: list[list[Value]] = [[] for _ in range(len(columns) + 1)]
        for weight, column in enumerate(columns):
            used = 0
            while len(column) - used >= 3:
                a, b, c = column[used : used + 3]
                used += 3
                total = Signal(name=f"{name}_s{adders}")
                carry = Signal(name=f"{name}_c{adders}")
                adders += 1
                m.d.comb += [total.eq(a ^ b ^ c), carry.eq((a & b) | (a & c) | (b & c))]
                reduced[weight].append(total)
                reduced[weight + 1].append(carry)
            reduced[weight].extend(column[used:])
        while reduced and not reduced[-1]:
            reduced.pop()
        columns = reduced
    first = Cat(*(column[0] if column else Const(0, 1) for column in columns))
    if not any(len(column) > 1 for column in columns):
        return first
    second = Cat(*(column[1] if len(column) > 1 else Const(0, 1) for column in columns))
    return first + second


def saturation_flags(value: Value, width: int) -> tuple[Value, Value]:
    """(above, below) the ``width``-bit two's-complement range, for a signed ``value``:
    the bits from ``width - 1`` up must all equal the sign (no comparators)."""
    value = Value.cast(value)
    if len(value) <= width:
        return Const(0, 1), Const(0, 1)
    sign = value[-1]
    top = value[width - 1 :]
    return ~sign & top.any(), sign & ~top.all()


def clamp_signed(value: Value, width: int) -> Value:
    """``clamp(value, -2^(width-1), 2^(width-1) - 1)`` for a signed ``value``."""
    value = Value.cast(value)
    if len(value) <= width:
        return value.as_signed()
    too_high, too_low = saturation_flags(value, width)
    high = Const((1 << (width - 1)) - 1, width)
    low = Const(1 << (width - 1), width)
    return Mux(too_high, high, Mux(too_low, low, value[:width])).as_signed()
