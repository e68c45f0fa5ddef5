"""Vivado HLS / Vitis HLS ``csynth.rpt`` → :class:`Report` (kind ``hls_csynth``).

These are the synthesis tool's *estimates*, before RTL synthesis:

- resources ``lut``, ``ff``, ``dsp``, ``bram_18k``, ``uram``: used from the Total row,
  available from the Available row (not the per-SLR row) of the utilisation summary;
  the Utilization (%) row must agree (HLS prints ``floor(100·used/available)``, ``~0``
  for under one percent);
- ``latency_cycles_min`` / ``latency_cycles_max`` from the latency summary, absent for
  ``?``;
- ``timing.clocks``: per clock, ``period_ns`` = Target, ``constraint_mhz`` = 1000/Target
  and ``fmax_mhz`` = 1000/Estimated — the HLS estimated clock period is exactly the
  reciprocal of its estimated Fmax, so this is a unit change, not a model;
- ``device`` = Target device, ``tool_version`` = Version (``2020.2``, ``2022.1.2``),
  ``design`` = the top function named in the banner.
"""

from __future__ import annotations

import math
from typing import Any

from lark import Token, Transformer

from .common import check_used_available, nanoseconds
from .report import ClockTiming, Report, ReportError, ResourceCount, Timing
from .vivado_common import located, run_parser

_COLUMN_KEYS = {
    "BRAM_18K": "bram_18k",
    "DSP": "dsp",
    "DSP48E": "dsp",
    "DSP48": "dsp",
    "FF": "ff",
    "LUT": "lut",
    "URAM": "uram",
}
_TIME_UNITS = {"sec": "s"}


def looks_like(text: str) -> bool:
    """A ``== Vivado HLS Report for '…'`` or ``== Vitis HLS Report for '…'`` banner."""
    head = text[:2000].replace("\r\n", "\n")
    return any(
        line.startswith(("== Vivado HLS Report for '", "== Vitis HLS Report for '"))
        for line in head.splitlines()[:8]
    )


def parse(text: str, file: str | None = None) -> Report:
    """Parse a csynth.rpt; see the module docstring."""
    return run_parser(
        "vivado_hls_csynth", text, file, _Transform(file).transform, "HLS csynth report"
    )


class _Transform(Transformer):
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    # -- banner and info block ------------------------------------------------------
    def banner(self, children: list[Token]) -> tuple[str, Any]:
        title = next(child for child in children if child.type == "REPORT_FOR")
        return ("design", str(title).split("'")[1])

    def version(self, children: list[Any]) -> tuple[str, Token, str]:
        return ("tool_version", children[0], str(children[1]))

    def target_device(self, children: list[Any]) -> tuple[str, Token, str]:
        return ("device", children[0], str(children[1]).strip())

    def info_other(self, children: list[Any]) -> tuple[str, Token, None]:
        return (str(children[0]).strip(), children[0], None)

    def info(self, children: list[Any]) -> tuple[str, Any]:
        facts: dict[str, Any] = {}
        for name, key, value in children:
            if name in facts:
                raise located(key, f"info line {str(key)!r} appears twice")
            facts[name] = value
        if facts.get("tool_version") is None:
            raise ReportError("the report names no '* Version:'", line=1)
        return ("info", facts)

    # -- performance ----------------------------------------------------------------
    def time(self, children: list[Any]) -> tuple[Token, float | None, str | None]:
        if children[0].type == "ABSENT":
            return (children[0], None, None)
        number, unit = children
        return (number, float(str(number)), None if unit is None else str(unit))

    def clock(self, children: list[Any]) -> tuple[Token, list[Any]]:
        return (children[0], children[1:])

    def timing(self, children: list[Any]) -> list[ClockTiming]:
        head: Token = children[0]
        heading_unit = "ns" if "(ns)" in str(head) else None
        clocks: list[ClockTiming] = []
        for name, cells in (child for child in children if isinstance(child, tuple)):
            target, estimated, _uncertainty = (
                _in_ns(cell, heading_unit, f"clock {name}") for cell in cells
            )
            if target is not None and target <= 0:
                raise located(cells[0][0], f"clock {name}: target period {target} ns")
            if estimated is not None and estimated <= 0:
                raise located(cells[1][0], f"clock {name}: estimated period {estimated} ns")
            clocks.append(
                ClockTiming(
                    name=str(name),
                    period_ns=target,
                    constraint_mhz=None if target is None else 1000.0 / target,
                    fmax_mhz=None if estimated is None else 1000.0 / estimated,
                )
            )
        return clocks

    def latency_absolute(self, children: list[Token]) -> tuple[Token, Token]:
        return (children[0], children[1])

    def latency_cycles(self, children: list[Token]) -> tuple[Token, Token]:
        return (children[0], children[1])

    def latency(self, children: list[Any]) -> tuple[int | None, int | None]:
        low, high = next(child for child in children if isinstance(child, tuple))
        minimum = None if str(low) == "?" else int(str(low))
        maximum = None if str(high) == "?" else int(str(high))
        if minimum is not None and maximum is not None and minimum > maximum:
            raise located(high, f"latency max {maximum} is below min {minimum}")
        return (minimum, maximum)

    def performance(self, children: list[Any]) -> tuple[str, Any]:
        clocks = next(child for child in children if isinstance(child, list))
        latency = next(child for child in children if isinstance(child, tuple))
        return ("performance", (clocks, latency))

    # -- utilisation ----------------------------------------------------------------
    def util_head(self, children: list[Token]) -> tuple[str, list[Token]]:
        return ("head", children[1:])

    def util_total(self, children: list[Token]) -> tuple[str, list[Token]]:
        return ("total", children)

    def util_available_slr(self, children: list[Token]) -> tuple[str, list[Token]]:
        return ("available_slr", children)

    def util_percent_slr(self, children: list[Token]) -> tuple[str, list[Token]]:
        return ("percent_slr", children)

    def util_available(self, children: list[Token]) -> tuple[str, list[Token]]:
        return ("available", children)

    def util_percent(self, children: list[Token]) -> tuple[str, list[Token]]:
        return ("percent", children)

    def util_table(self, children: list[Any]) -> dict[str, ResourceCount]:
        rows = dict(child for child in children if isinstance(child, tuple))
        columns: list[Token] = rows["head"]
        for child in children:
            if isinstance(child, Token) and child.type == "UTIL_ROW":
                _check_width(child, len(str(child).split("|")) - 3, len(columns))
        for name, row in rows.items():
            if name != "head":
                _check_width(row[0], len(row) - 1, len(columns))
        resources: dict[str, ResourceCount] = {}
        for index, column in enumerate(columns):
            label = str(column)
            used = int(str(rows["total"][index + 1]))
            available = int(str(rows["available"][index + 1]))
            _check_percent(label, used, available, rows["percent"][index + 1], ceiling=True)
            if "available_slr" in rows:
                slr = int(str(rows["available_slr"][index + 1]))
                _check_percent(
                    f"{label} per SLR", used, slr, rows["percent_slr"][index + 1], ceiling=False
                )
            key = _COLUMN_KEYS[label]
            if key in resources:
                raise located(column, f"two columns for {key}")
            resources[key] = ResourceCount(used=used, available=available)
        return resources

    def utilization(self, children: list[Any]) -> tuple[str, Any]:
        return ("utilization", next(child for child in children if isinstance(child, dict)))

    def interface(self, children: list[Any]) -> tuple[str, Any]:
        return ("interface", None)

    def start(self, children: list[Any]) -> Report:
        parts = dict(child for child in children if isinstance(child, tuple))
        info = parts["info"]
        clocks, (latency_min, latency_max) = parts["performance"]
        return Report(
            tool="vivado",
            kind="hls_csynth",
            file=self.file,
            tool_version=info["tool_version"],
            device=info.get("device"),
            design=parts["design"],
            resources=parts["utilization"],
            timing=Timing(clocks=clocks),
            latency_cycles_min=latency_min,
            latency_cycles_max=latency_max,
        )


def _in_ns(
    cell: tuple[Token, float | None, str | None], heading_unit: str | None, what: str
) -> float | None:
    token, value, unit = cell
    if value is None:
        return None
    unit = unit or heading_unit
    if unit is None:
        raise located(token, f"{what}: a time without a unit", "a unit (ns) in cell or heading")
    return nanoseconds(value, _TIME_UNITS.get(unit, unit))


def _check_width(where: Token, cells: int, columns: int) -> None:
    if cells != columns:
        raise located(where, f"row has {cells} values, the header names {columns} columns")


def _check_percent(label: str, used: int, available: int, percent: Token, *, ceiling: bool) -> None:
    """HLS prints floor(100·used/available), ``~0`` below one percent; used ≤ available."""
    if ceiling:
        check_used_available(label, used, available, None, line=percent.line, column=percent.column)
    text = str(percent)
    if available == 0:
        if text != "0" or used != 0:
            raise located(percent, f"{label}: {used} used of 0 available, stated {text}%")
        return
    actual = 100.0 * used / available
    if text == "~0":
        if not 0 < actual < 1:
            raise located(percent, f"{label}: stated ~0% disagrees with {used}/{available}")
        return
    stated = int(text)
    if not stated <= actual + 1e-9 or actual >= stated + 1:
        raise located(
            percent,
            f"{label}: stated {stated}% disagrees with {used}/{available} = {actual:.2f}%",
            f"{math.floor(actual)}",
        )


__all__ = ["looks_like", "parse"]
