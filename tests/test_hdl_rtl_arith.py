"""Gate-level arithmetic helpers, exhaustively on small widths in the Amaranth simulator."""

from __future__ import annotations

import itertools

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator
from stochflow.hdl.rtl_arith import at_least_constant, clamp_signed, less_than_constant, popcount


def _evaluate(  # type: ignore[no-untyped-def]
    inputs: list[Signal], output, cases: list[tuple[int, ...]], module: Module | None = None
) -> list[int]:
    results: list[int] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for case in cases:
            for signal, value in zip(inputs, case, strict=True):
                ctx.set(signal, value)
            results.append(ctx.get(output))

    sim = Simulator(module or Module())
    sim.add_testbench(bench)
    sim.run()
    return results


@pytest.mark.parametrize("width", [1, 3, 5])
def test_less_than_constant_exhaustive(width: int) -> None:
    value = Signal(width)
    for constant in range(-1, (1 << width) + 2):
        expr = less_than_constant(value, constant)
        cases = [(v,) for v in range(1 << width)]
        assert _evaluate([value], expr, cases) == [int(v < constant) for (v,) in cases], constant


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 7, 9])
def test_popcount_exhaustive(count: int) -> None:
    bits = [Signal(name=f"b{k}") for k in range(count)]
    m = Module()
    expr = popcount(m, bits)
    cases = list(itertools.product((0, 1), repeat=count))
    assert _evaluate(bits, expr, cases, m) == [sum(case) for case in cases]


def test_popcount_wide_samples() -> None:
    bits = [Signal(name=f"b{k}") for k in range(65)]
    m = Module()
    expr = popcount(m, bits)
    cases = [tuple((pattern >> k) & 1 for k in range(65)) for pattern in
             (0, (1 << 65) - 1, 0x1_5555_5555_5555_5555, 0x0_F0F0_1234_ABCD_0001, 1 << 64)]
    assert _evaluate(bits, expr, cases, m) == [sum(case) for case in cases]


@pytest.mark.parametrize(("source_width", "width"), [(6, 4), (5, 5), (4, 6), (7, 3)])
def test_clamp_signed_exhaustive(source_width: int, width: int) -> None:
    value = Signal(signed(source_width))
    expr = clamp_signed(value, width)
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    cases = [(v,) for v in range(-(1 << (source_width - 1)), 1 << (source_width - 1))]
    got = _evaluate([value], expr, cases)
    assert got == [min(max(v, low), high) for (v,) in cases]


@pytest.mark.parametrize("width", [2, 4, 6])
def test_at_least_constant_exhaustive(width: int) -> None:
    value = Signal(signed(width))
    cases = [(v,) for v in range(-(1 << (width - 1)), 1 << (width - 1))]
    for constant in range(0, 1 << (width - 1)):
        expr = at_least_constant(value, constant)
        assert _evaluate([value], expr, cases) == [int(v >= constant) for (v,) in cases], constant
