"""The sweep grid: ``"L=64,256;rng=lfsr16,sobol;precision=4,6"``, parsed strictly.

Syntax: entries separated by ``;``, each ``KNOB=V1,V2,…``; a knob prefixed with a layer
name (``hidden.precision=4,6``) changes that layer only, otherwise every layer. The
points are every combination, the first entry varying slowest. Whitespace around
names and values is ignored; an empty entry or value, a knob given twice, a value
given twice, an unknown knob or a value the knob cannot take is an error naming the
entry and what was expected.

Knobs and values:

==================  =================================================================
``L``               bitstream length: a power of two, 16 … 4096
``precision``       bits of weights and comparators: 2 … 16
``folding``         synapse columns computed per cycle: an integer ≥ 1, or ``all``
                    (every column of the layer: ``inputs + 1``, no time-multiplexing)
``rng``             the weight source: ``lfsr<W>``, ``sobol<W>``, ``vdc<W>`` (W = width in
                    bits), or the bare kind (``sobol``): another kind starts from that
                    kind's defaults (width 16), the same kind keeps the spec's width
``input_rng``       the input encoder's source, same syntax (only layers that encode)
``seed``            the weight source's seed (LFSR state; Sobol/vdC start index):
                    decimal or ``0x`` hex, ≥ 0
``decorrelation``   how the weight source feeds its streams: ``shared``, ``permuted``,
                    ``rotated`` or ``independent``
``weight_memory``   where a folded layer's weight ROM lives: ``logic`` (LUTs) or
                    ``block`` (block RAM; only layers folded over at least
                    ``stochflow.hdl.config.ROM_FOLD_CYCLES`` cycles have a ROM)
==================  =================================================================

Whether a combination is valid for the network (a seed that fits the source's width,
a folding no wider than a layer, one length in the stream architecture) is checked when
the points are applied to the spec (:func:`stochflow.flow.sweep.plan_sweep`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stochflow.hdl.config import (
    DECORRELATIONS,
    MAX_LOG2_LENGTH,
    MAX_PRECISION,
    MIN_LOG2_LENGTH,
    MIN_PRECISION,
    RNG_KINDS,
    WEIGHT_MEMORIES,
)

from .errors import UsageError

__all__ = ["KNOBS", "Axis", "Grid", "GridValue", "parse_grid"]

ALL_COLUMNS = "all"
_RNG = re.compile(r"^(" + "|".join(RNG_KINDS) + r")([0-9]+)?$")
_LAYER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DECIMAL = re.compile(r"^[0-9]+$")
_HEX = re.compile(r"^0[xX][0-9a-fA-F]+$")


@dataclass(frozen=True)
class GridValue:
    """One value of a knob: as written (for labels and messages) and as the spec takes it."""

    text: str
    value: Any


@dataclass(frozen=True)
class Axis:
    """One grid entry: a knob, the layer it is scoped to (or every layer), its values."""

    knob: str
    layer: str | None
    values: tuple[GridValue, ...]

    @property
    def name(self) -> str:
        return self.knob if self.layer is None else f"{self.layer}.{self.knob}"


@dataclass(frozen=True)
class Grid:
    axes: tuple[Axis, ...]

    @property
    def size(self) -> int:
        size = 1
        for axis in self.axes:
            size *= len(axis.values)
        return size

    def points(self) -> list[dict[str, GridValue]]:
        """Every combination, first axis slowest: ``{axis name: value}``."""
        names = [axis.name for axis in self.axes]
        return [
            dict(zip(names, combination, strict=True))
            for combination in itertools.product(*(axis.values for axis in self.axes))
        ]


# --------------------------------------------------------------------------- values


def _integer(text: str) -> int | None:
    if _DECIMAL.fullmatch(text):
        return int(text)
    if _HEX.fullmatch(text):
        return int(text, 16)
    return None


def _length(text: str) -> Any:
    value = _integer(text)
    low, high = 1 << MIN_LOG2_LENGTH, 1 << MAX_LOG2_LENGTH
    if value is None or value & (value - 1) or not low <= value <= high:
        raise ValueError(f"a power of two {low}…{high}")
    return value


def _precision(text: str) -> Any:
    value = _integer(text)
    if value is None or not MIN_PRECISION <= value <= MAX_PRECISION:
        raise ValueError(f"a whole number of bits {MIN_PRECISION}…{MAX_PRECISION}")
    return value


def _folding(text: str) -> Any:
    if text == ALL_COLUMNS:
        return ALL_COLUMNS
    value = _integer(text)
    if value is None or value < 1:
        raise ValueError(f"a whole number of columns ≥ 1, or {ALL_COLUMNS!r}")
    return value


def _rng(text: str) -> Any:
    found = _RNG.fullmatch(text)
    if found is None:
        kinds = "|".join(RNG_KINDS)
        raise ValueError(f"a source {kinds} with an optional width, e.g. lfsr16, sobol8, vdc")
    kind, width = found.groups()
    return {"kind": kind} if width is None else {"kind": kind, "width": int(width)}


def _seed(text: str) -> Any:
    value = _integer(text)
    if value is None:
        raise ValueError("an integer ≥ 0 (decimal or 0x hex)")
    return value


def _decorrelation(text: str) -> Any:
    if text not in DECORRELATIONS:
        raise ValueError(f"one of {', '.join(DECORRELATIONS)}")
    return text


def _weight_memory(text: str) -> Any:
    if text not in WEIGHT_MEMORIES:
        raise ValueError(f"one of {', '.join(WEIGHT_MEMORIES)}")
    return text


KNOBS: dict[str, Callable[[str], Any]] = {
    "L": _length,
    "precision": _precision,
    "folding": _folding,
    "rng": _rng,
    "input_rng": _rng,
    "seed": _seed,
    "decorrelation": _decorrelation,
    "weight_memory": _weight_memory,
}


# --------------------------------------------------------------------------- the grid


def parse_grid(text: str) -> Grid:
    """The grid ``text`` describes, or a :class:`UsageError` naming the bad entry."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError("--grid: empty; expected entries like 'L=64,256;precision=4,6'")
    axes: list[Axis] = []
    seen: set[str] = set()
    for position, raw in enumerate(text.split(";"), start=1):
        entry = raw.strip()
        where = f"--grid entry {position} {entry!r}"
        if not entry:
            raise UsageError(f"--grid entry {position}: empty (entries are separated by ';')")
        name, equals, values_text = entry.partition("=")
        if not equals:
            raise UsageError(f"{where}: expected KNOB=VALUE[,VALUE…]")
        axis = _axis(name.strip(), values_text, where)
        if axis.name in seen:
            raise UsageError(f"{where}: {axis.name} is given twice")
        seen.add(axis.name)
        axes.append(axis)
    return Grid(tuple(axes))


def _axis(name: str, values_text: str, where: str) -> Axis:
    layer, dot, knob = name.rpartition(".")
    if not dot:
        layer, knob = "", name
    if knob not in KNOBS:
        raise UsageError(f"{where}: unknown knob {knob!r}; expected one of {', '.join(KNOBS)}")
    if dot and not _LAYER.fullmatch(layer):
        raise UsageError(f"{where}: {layer!r} is not a layer name (expected LAYER.{knob})")
    parse = KNOBS[knob]
    values: list[GridValue] = []
    for raw in values_text.split(","):
        item = raw.strip()
        if not item:
            raise UsageError(f"{where}: {name}: empty value (values are separated by ',')")
        try:
            value = parse(item)
        except ValueError as error:
            raise UsageError(f"{where}: {name}: {item!r} is not {error}") from None
        if any(value == other.value for other in values):
            raise UsageError(f"{where}: {name}: value {item!r} is given twice")
        values.append(GridValue(item, value))
    return Axis(knob, layer or None, tuple(values))
