"""Random sources as Amaranth components, and the bank that turns one into stream numbers.

Each source holds its current number ``r(t)`` in a register for a whole bit-period,
reloads its start state on ``restart`` and steps on ``advance``. Every constant (seeds,
tap masks, direction numbers, bit permutations) comes from :mod:`stochflow.hdl.rng`, the
module the golden model reads too, so RTL and model cannot drift apart. Semantics are
those of ``docs/arithmetic.md`` (section "Random sources").
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .config import RngSpec
from .errors import SpecError
from .rng import (
    check_streams,
    derived_seed,
    register_count,
    rotl,
    sobol_directions,
    stream_permutation,
)

__all__ = [
    "LfsrSource",
    "SobolSource",
    "SourceBank",
    "VanDerCorputSource",
    "sobol_start_value",
    "source_for_register",
]


class _Source(wiring.Component):
    """Common signature: ``restart`` reloads the start state, ``advance`` steps once."""

    def __init__(self, width: int) -> None:
        self.width = width
        super().__init__({"restart": In(1), "advance": In(1), "value": Out(width)})


class LfsrSource(_Source):
    """A ``width``-bit LFSR (Fibonacci or Galois) with a tap-mask polynomial."""

    def __init__(self, width: int, polynomial: int, seed: int, structure: str) -> None:
        if structure not in ("fibonacci", "galois"):
            raise SpecError("structure", f"expected fibonacci or galois, got {structure!r}")
        if not 0 <= seed < (1 << width):
            raise SpecError("seed", f"expected 0…{(1 << width) - 1}, got {seed}")
        self.polynomial = polynomial
        self.seed = seed
        self.structure = structure
        super().__init__(width)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        state = Signal(self.width, init=self.seed)
        if self.structure == "fibonacci":
            feedback = (state & self.polynomial).xor()
            following = Cat(feedback, state[: self.width - 1])
        else:
            following = (state >> 1) ^ (Const(self.polynomial, self.width) & state[0].replicate(self.width))
        with m.If(self.restart):
            m.d.sync += state.eq(self.seed)
        with m.Elif(self.advance):
            m.d.sync += state.eq(following)
        m.d.comb += self.value.eq(state)
        return m


def sobol_start_value(directions: tuple[int, ...], start: int) -> int:
    """``r(0)``: XOR of ``V_{i+1}`` over the bits ``i`` set in ``gray(start)``."""
    gray = start ^ (start >> 1)
    value = 0
    for bit, direction in enumerate(directions):
        if gray >> bit & 1:
            value ^= direction
    return value


class SobolSource(_Source):
    """One Sobol dimension in Gray-code order: each step XORs one direction number.

    The step taken after index ``n`` flips direction ``c = ctz(n + 1)``; when ``n + 1``
    wraps to zero the flipped bit is the top one (``c = w - 1``), which the one-hot
    below gets for free: bit ``w - 1`` is chosen whenever no lower bit of ``n + 1`` is set.
    """

    def __init__(self, width: int, dimension: int, start: int) -> None:
        self.directions = sobol_directions(dimension, width)
        self.dimension = dimension
        self.start = start
        super().__init__(width)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        width = self.width
        first = sobol_start_value(self.directions, self.start)
        index = Signal(width, init=self.start)
        value = Signal(width, init=first)
        following = Signal(width)
        m.d.comb += following.eq(index + 1)
        flip = Signal(width)
        for bit in range(width):
            lower_clear = ~following[:bit].any() if bit else Const(1, 1)
            chosen = lower_clear if bit == width - 1 else following[bit] & lower_clear
            m.d.comb += flip[bit].eq(chosen)
        step = Signal(width)
        m.d.comb += step.eq(
            _xor_all([Const(direction, width) & flip[bit].replicate(width)
                      for bit, direction in enumerate(self.directions)], width)
        )
        with m.If(self.restart):
            m.d.sync += [index.eq(self.start), value.eq(first)]
        with m.Elif(self.advance):
            m.d.sync += [index.eq(following), value.eq(value ^ step)]
        m.d.comb += self.value.eq(value)
        return m


def _xor_all(terms: list, width: int):
    result = Const(0, width)
    for term in terms:
        result = result ^ term
    return result


class VanDerCorputSource(_Source):
    """Base-2 van der Corput: a counter read with its bits reversed (wires only)."""

    def __init__(self, width: int, start: int) -> None:
        self.start = start
        super().__init__(width)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        index = Signal(self.width, init=self.start)
        with m.If(self.restart):
            m.d.sync += index.eq(self.start)
        with m.Elif(self.advance):
            m.d.sync += index.eq(index + 1)
        m.d.comb += self.value.eq(Cat(*reversed(list(index))))
        return m


def source_for_register(spec: RngSpec, register: int) -> _Source:
    """The source component behind register ``register`` of a bank (0 for one-register banks)."""
    if spec.kind == "lfsr":
        assert spec.polynomial is not None
        if spec.decorrelation == "rotated":
            seed = rotl(spec.seed, register, spec.width)
        elif spec.decorrelation == "independent":
            seed = derived_seed(spec.seed, register, spec.width)
        else:
            seed = spec.seed
        return LfsrSource(spec.width, spec.polynomial, seed, spec.structure)
    if spec.kind == "sobol":
        return SobolSource(spec.width, spec.dimension + register, spec.seed)
    return VanDerCorputSource(spec.width, spec.seed)


class SourceBank(wiring.Component):
    """The stream numbers ``u_j(t)`` (top ``precision`` bits) of ``streams`` streams.

    ``shared`` and ``permuted`` use one register (a permutation is wiring);
    ``rotated`` and ``independent`` instantiate one register per stream.
    """

    def __init__(self, spec: RngSpec, streams: int, precision: int, field: str = "rng") -> None:
        try:
            if precision > spec.width:
                raise SpecError(
                    f"{field}.width",
                    f"precision {precision} is wider than the {spec.label} source",
                )
            check_streams(spec, streams, field)
        except SpecError:
            self._MustUse__used = True  # refused, not forgotten: no "never used" warning
            raise
        self.spec = spec
        self.streams = streams
        self.precision = precision
        super().__init__({
            "restart": In(1),
            "advance": In(1),
            "numbers": Out(data.ArrayLayout(precision, streams)),
        })

    def elaborate(self, platform: object) -> Module:
        m = Module()
        spec, width, p = self.spec, self.spec.width, self.precision
        registers = []
        for register in range(register_count(spec, self.streams)):
            source = source_for_register(spec, register)
            m.submodules[f"source{register}"] = source
            m.d.comb += [source.restart.eq(self.restart), source.advance.eq(self.advance)]
            registers.append(source.value)
        for stream in range(self.streams):
            if len(registers) > 1:
                value = registers[stream]
                top_bits = [value[bit] for bit in range(width - p, width)]
            elif spec.decorrelation == "permuted":
                perm = stream_permutation(stream, width)
                top_bits = [registers[0][perm[bit]] for bit in range(width - p, width)]
            else:
                top_bits = [registers[0][bit] for bit in range(width - p, width)]
            m.d.comb += self.numbers[stream].eq(Cat(*top_bits))
        return m
