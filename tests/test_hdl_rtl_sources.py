"""Random-source components in the Amaranth simulator against the reference sequences."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from stochflow.hdl.config import RngSpec
from stochflow.hdl.errors import SpecError
from stochflow.hdl.lfsr_taps import default_polynomial
from stochflow.hdl.rng import lfsr_sequence, sobol_sequence, stream_numbers, vdc_sequence
from stochflow.hdl.rtl_sources import LfsrSource, SobolSource, SourceBank, VanDerCorputSource

# advance pattern: idle cycles in between must hold the value
PATTERN = [1, 1, 0, 1, 0, 0, 1, 1, 1]


def _run_source(dut, steps: int, read) -> tuple[list[int], list[int]]:  # type: ignore[no-untyped-def]
    """Values after ``steps`` advances (with idle gaps), then again after a restart."""
    seen: list[int] = []
    again: list[int] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        # Start somewhere else: a few advances before the first restart.
        ctx.set(dut.advance, 1)
        await ctx.tick().repeat(3)
        ctx.set(dut.advance, 0)
        for target in (seen, again):
            ctx.set(dut.restart, 1)
            await ctx.tick()
            ctx.set(dut.restart, 0)
            cycle = 0
            target.append(read(ctx))
            while len(target) < steps:
                advance = PATTERN[cycle % len(PATTERN)]
                ctx.set(dut.advance, advance)
                await ctx.tick()
                if advance:
                    target.append(read(ctx))
                else:
                    assert read(ctx) == target[-1]
                cycle += 1
            ctx.set(dut.advance, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen, again


@pytest.mark.parametrize("structure", ["fibonacci", "galois"])
@pytest.mark.parametrize(("width", "seed"), [(3, 5), (5, 1), (8, 0xA7), (16, 0xACE1), (32, 0x89ABCDEF)])
def test_lfsr_matches_reference(structure: str, width: int, seed: int) -> None:
    poly = default_polynomial(width)
    dut = LfsrSource(width, poly, seed, structure)
    steps = 40
    seen, again = _run_source(dut, steps, lambda ctx: ctx.get(dut.value))
    expected = lfsr_sequence(poly, seed, width, steps, structure).tolist()
    assert seen == expected
    assert again == expected


def test_lfsr_full_period_width_4() -> None:
    dut = LfsrSource(4, default_polynomial(4), 1, "galois")
    seen, _ = _run_source(dut, 16, lambda ctx: ctx.get(dut.value))
    assert seen[15] == seen[0] and len(set(seen[:15])) == 15


@pytest.mark.parametrize(
    ("width", "dimension", "start"), [(4, 1, 0), (8, 2, 0), (8, 5, 3), (6, 3, 60), (12, 7, 100)]
)
def test_sobol_matches_reference(width: int, dimension: int, start: int) -> None:
    dut = SobolSource(width, dimension, start)
    steps = 24  # (6, 3, 60) wraps past 2^6
    seen, again = _run_source(dut, steps, lambda ctx: ctx.get(dut.value))
    expected = sobol_sequence(dimension, width, steps, start).tolist()
    assert seen == expected
    assert again == expected


@pytest.mark.parametrize(("width", "start"), [(2, 1), (5, 28), (10, 0)])
def test_van_der_corput_matches_reference(width: int, start: int) -> None:
    dut = VanDerCorputSource(width, start)
    seen, again = _run_source(dut, 12, lambda ctx: ctx.get(dut.value))
    expected = vdc_sequence(width, 12, start).tolist()
    assert seen == expected == again


BANKS = [
    RngSpec(kind="lfsr", width=8, seed=0x3C, decorrelation="shared"),
    RngSpec(kind="lfsr", width=10, seed=0x155, decorrelation="permuted", structure="galois"),
    RngSpec(kind="lfsr", width=7, seed=0x41, decorrelation="rotated"),
    RngSpec(kind="lfsr", width=9, seed=0x1F0, decorrelation="independent", structure="galois"),
    RngSpec(kind="sobol", width=8, seed=5, decorrelation="permuted", dimension=2),
    RngSpec(kind="sobol", width=6, seed=0, decorrelation="independent", dimension=4),
    RngSpec(kind="sobol", width=5, seed=2, decorrelation="shared"),
    RngSpec(kind="vdc", width=6, seed=9, decorrelation="permuted"),
]


@pytest.mark.parametrize("spec", BANKS, ids=lambda s: f"{s.label}-{s.decorrelation}")
def test_source_bank_matches_stream_numbers(spec: RngSpec) -> None:
    streams, precision, steps = 5, min(5, spec.width - 1), 20
    dut = SourceBank(spec, streams, precision)

    def read(ctx) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
        return tuple(ctx.get(dut.numbers[j]) for j in range(streams))

    seen, again = _run_source(dut, steps, read)
    expected = stream_numbers(spec, streams, steps, precision)
    assert np.array_equal(np.array(seen), expected)
    assert np.array_equal(np.array(again), expected)


def test_source_bank_refuses_precision_wider_than_source() -> None:
    with pytest.raises(SpecError, match="wider"):
        SourceBank(RngSpec(width=6), 3, 8)


def test_source_bank_refuses_too_many_sobol_dimensions() -> None:
    with pytest.raises(SpecError, match="dimension"):
        SourceBank(RngSpec(kind="sobol", width=8, dimension=250, decorrelation="independent"), 20, 4)
