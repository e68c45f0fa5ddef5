"""Per-signal toggle counts from a Verilator ``coverage.dat`` (``--coverage-toggle``).

A model built with toggle coverage counts, for every bit of every signal, its 0→1 and
1→0 changes over the whole run, and writes them at the end as lines
``C '<fields>' <count>``; fields are separated by ``\\x01`` and each is ``key\\x02value``:
``h`` the hierarchy (``sc_network.layer0``), ``o`` the point (``signal[bit]:0->1``, no
``[bit]`` for one-bit signals), ``t`` the kind (``toggle``). Verilator spells characters
of escaped identifiers as ``__0XX`` (hex), e.g. Amaranth's ``\\$12`` is ``__02412``;
names are given back as the Verilog spells them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import SimulationError

__all__ = ["SignalToggles", "ToggleCoverage", "demangle", "read_toggle_coverage"]

COVERAGE_SOURCE = "verilator:coverage-toggle"
_POINT = re.compile(r"^(?P<name>.+?)(?:\[(?P<bit>-?\d+)\])?:(?P<direction>0->1|1->0)$")
_ESCAPE = re.compile(r"__0([0-9A-Fa-f]{2})")
_LINE = re.compile(r"^C '(?P<body>.*)' (?P<count>\d+)\s*$")


def demangle(name: str) -> str:
    """Verilator's ``__0XX`` escapes back to characters (``__024`` → ``$``)."""
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), name)


@dataclass
class SignalToggles:
    """Toggles of one signal, summed over its bits and both directions."""

    hierarchy: str
    name: str
    bits: set[int]
    toggles: int = 0
    rises: int = 0

    @property
    def width(self) -> int:
        return len(self.bits)

    @property
    def path(self) -> str:
        return f"{self.hierarchy}.{self.name}"


@dataclass(frozen=True)
class ToggleCoverage:
    """Every signal of a run (keyed by ``hierarchy.name``)."""

    signals: dict[str, SignalToggles]

    @property
    def total_toggles(self) -> int:
        return sum(signal.toggles for signal in self.signals.values())

    @property
    def total_bits(self) -> int:
        return sum(signal.width for signal in self.signals.values())

    def under(self, scope: str) -> ToggleCoverage:
        """The signals at ``scope`` and below."""
        return ToggleCoverage({
            path: signal for path, signal in self.signals.items()
            if signal.hierarchy == scope or signal.hierarchy.startswith(f"{scope}.")
        })

    def rooted(self, scope: str, root: str) -> ToggleCoverage:
        """``under(scope)`` with ``scope`` replaced by ``root``: a design inside a group
        (``sc_group.d3``) reads as it would alone (``sc_network``)."""
        renamed = {}
        for signal in self.under(scope).signals.values():
            hierarchy = root + signal.hierarchy[len(scope):]
            moved = SignalToggles(hierarchy, signal.name, set(signal.bits), signal.toggles,
                                  signal.rises)
            renamed[moved.path] = moved
        return ToggleCoverage(renamed)


def _fields(body: str) -> dict[str, str]:
    fields = {}
    for item in body.split("\x01"):
        if item:
            key, _, value = item.partition("\x02")
            fields[key] = value
    return fields


def _points(path: Path) -> Iterator[tuple[dict[str, str], int, int]]:
    with path.open(encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.startswith("C "):
                continue
            match = _LINE.match(line)
            if match is None:
                raise SimulationError(f"{path}:{number}: not a coverage point line")
            yield _fields(match.group("body")), int(match.group("count")), number


def read_toggle_coverage(path: str | Path) -> ToggleCoverage:
    """Sum a ``coverage.dat``'s toggle points per signal."""
    file = Path(path)
    if not file.is_file():
        raise SimulationError(f"{file}: no coverage file (was the model built with coverage?)")
    signals: dict[str, SignalToggles] = {}
    for fields, count, number in _points(file):
        if fields.get("t") != "toggle":
            continue
        point = _POINT.match(fields.get("o", ""))
        if point is None or "h" not in fields:
            raise SimulationError(f"{file}:{number}: toggle point without signal or hierarchy")
        hierarchy = fields["h"]
        name = demangle(point.group("name"))
        key = f"{hierarchy}.{name}"
        signal = signals.get(key)
        if signal is None:
            signal = signals[key] = SignalToggles(hierarchy, name, set())
        signal.bits.add(int(point.group("bit") or 0))
        signal.toggles += count
        if point.group("direction") == "0->1":
            signal.rises += count
    return ToggleCoverage(signals)
