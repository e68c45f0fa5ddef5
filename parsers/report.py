"""Typed report objects: what a tool report states, and nothing it does not.

Every field is optional because reports differ in what they state; a field is ``None``
(and absent from :meth:`Report.to_json`) when the report does not state it, never
zero. Units are normalised: watts, nanoseconds, megahertz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Tool = Literal["vivado", "quartus", "yosys", "nextpnr", "icetime"]
Kind = Literal[
    "utilization",
    "power",
    "timing",
    "hls_csynth",
    "fit_summary",
    "fit_rpt",
    "map_summary",
    "sta_summary",
    "pow_summary",
    "stat",
    "pnr_log",
    "pnr_report",
    "icetime",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
TOOLS: tuple[str, ...] = Tool.__args__  # type: ignore[attr-defined]

Number = int | float


class ReportError(ValueError):
    """A report that cannot be read as stated. Names the file, line, column and expectation."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.expected = expected
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.file or "<report>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def in_file(self, file: str) -> ReportError:
        """The same error attributed to ``file``."""
        return ReportError(
            self.message, file=file, line=self.line, column=self.column, expected=self.expected
        )


@dataclass
class ResourceCount:
    """Used and available count of one resource; either may be absent."""

    used: Number | None = None
    available: Number | None = None

    def to_json(self) -> dict[str, Number]:
        return {
            k: v for k, v in (("used", self.used), ("available", self.available)) if v is not None
        }


@dataclass
class ClockTiming:
    name: str
    period_ns: float | None = None
    fmax_mhz: float | None = None
    constraint_mhz: float | None = None
    met: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "name": self.name,
                "period_ns": self.period_ns,
                "fmax_mhz": self.fmax_mhz,
                "constraint_mhz": self.constraint_mhz,
                "met": self.met,
            }
        )


@dataclass
class Timing:
    wns_ns: float | None = None
    tns_ns: float | None = None
    whs_ns: float | None = None
    ths_ns: float | None = None
    constraints_met: bool | None = None
    fmax_mhz: float | None = None
    critical_path_ns: float | None = None
    clocks: list[ClockTiming] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = _drop_none(
            {
                "wns_ns": self.wns_ns,
                "tns_ns": self.tns_ns,
                "whs_ns": self.whs_ns,
                "ths_ns": self.ths_ns,
                "constraints_met": self.constraints_met,
                "fmax_mhz": self.fmax_mhz,
                "critical_path_ns": self.critical_path_ns,
            }
        )
        if self.clocks:
            data["clocks"] = [clock.to_json() for clock in self.clocks]
        return data

    def is_empty(self) -> bool:
        return not self.to_json()


@dataclass
class Power:
    total_w: float | None = None
    dynamic_w: float | None = None
    static_w: float | None = None
    io_w: float | None = None
    confidence: str | None = None
    junction_c: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "total_w": self.total_w,
                "dynamic_w": self.dynamic_w,
                "static_w": self.static_w,
                "io_w": self.io_w,
                "confidence": self.confidence,
                "junction_c": self.junction_c,
            }
        )

    def is_empty(self) -> bool:
        return not self.to_json()


@dataclass
class Report:
    """One parsed report. ``kind`` and ``tool`` are always known; the rest only if stated."""

    tool: Tool
    kind: Kind
    file: str | None = None
    tool_version: str | None = None
    device: str | None = None
    design: str | None = None
    status: Literal["ok", "failed"] | None = None
    status_text: str | None = None
    resources: dict[str, ResourceCount] = field(default_factory=dict)
    power: Power | None = None
    timing: Timing | None = None
    cells: int | None = None
    cells_by_type: dict[str, int] | None = None
    latency_cycles_min: int | None = None
    latency_cycles_max: int | None = None
    sha256: str | None = None  # of the file's bytes, for provenance

    def to_json(self) -> dict[str, Any]:
        """The ``stochflow parse --json`` object: every key absent when not stated."""
        data: dict[str, Any] = _drop_none(
            {
                "file": self.file,
                "tool": self.tool,
                "tool_version": self.tool_version,
                "kind": self.kind,
                "device": self.device,
                "design": self.design,
                "status": self.status,
                "status_text": self.status_text,
            }
        )
        if self.resources:
            data["resources"] = {name: count.to_json() for name, count in self.resources.items()}
        if self.power is not None and not self.power.is_empty():
            data["power"] = self.power.to_json()
        if self.timing is not None and not self.timing.is_empty():
            data["timing"] = self.timing.to_json()
        if self.cells is not None:
            data["cells"] = self.cells
        if self.cells_by_type is not None:
            data["cells_by_type"] = dict(self.cells_by_type)
        if self.latency_cycles_min is not None:
            data["latency_cycles_min"] = self.latency_cycles_min
        if self.latency_cycles_max is not None:
            data["latency_cycles_max"] = self.latency_cycles_max
        return data


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}
