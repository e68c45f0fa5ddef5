"""nextpnr ``--report`` JSON: utilisation per bel type and achieved/target Fmax per clock.

``met`` follows nextpnr's own rule for PASS (``constraint < achieved``). nextpnr lists
cell types that are not placed on bels of their own (GateMate CPE_ADDF, CPE_BRIDGE, …)
with ``available: 0``; those keep their used count and state no capacity.
"""

from __future__ import annotations

import math
from typing import Any

from .json_document import JsonArray, JsonObject, parse_json
from .nextpnr_log import CANONICAL_CELLS
from .report import ClockTiming, Report, ReportError, ResourceCount, Timing

KIND = "pnr_report"
_TOP_KEYS = frozenset({"utilization", "fmax", "critical_paths", "detailed_net_timings"})
_REQUIRED = ("utilization", "fmax", "critical_paths")
_SEGMENT_KEYS = frozenset({"delay", "from", "to", "type", "net", "sources"})


def looks_like(text: str) -> bool:
    head = text.lstrip()[:200]
    return (
        head.startswith("{")
        and '"utilization"' in text
        and '"fmax"' in text
        and ('"critical_paths"' in text)
    )


class _Reader:
    def __init__(self, file: str | None) -> None:
        self.file = file

    def fail(
        self, obj: JsonObject | JsonArray, key: str | None, message: str, expected: str
    ) -> ReportError:
        line = obj.key_lines.get(key, obj.line) if isinstance(obj, JsonObject) and key else obj.line
        return ReportError(message, file=self.file, line=line, expected=expected)

    def obj(self, parent: JsonObject, key: str) -> JsonObject:
        value = parent[key]
        if not isinstance(value, JsonObject):
            raise self.fail(parent, key, f"{key!r} is not an object", "an object")
        return value

    def exact_keys(self, obj: JsonObject, keys: tuple[str, ...], what: str) -> None:
        if set(obj) != set(keys):
            raise self.fail(obj, None, f"{what} has keys {sorted(obj)}", " and ".join(keys))

    def count(self, obj: JsonObject, key: str) -> int:
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(obj, key, f"{key} is {value!r}", "a non-negative integer")
        return value

    def mhz(self, obj: JsonObject, key: str) -> float:
        value = obj[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.fail(obj, key, f"{key} is {value!r}", "a positive frequency in MHz")
        return float(value)


def parse(text: str, file: str | None = None) -> Report:
    document = parse_json(text, file, what="nextpnr report")
    reader = _Reader(file)
    if not isinstance(document, JsonObject):
        raise ReportError("a nextpnr report is a JSON object", file=file, line=1)
    for key in document:
        if key not in _TOP_KEYS:
            raise reader.fail(document, key, f"unknown key {key!r}", ", ".join(sorted(_TOP_KEYS)))
    for key in _REQUIRED:
        if key not in document:
            raise ReportError(
                f"no {key!r} in the report", file=file, line=document.line, expected=key
            )
    report = Report(tool="nextpnr", kind=KIND, file=file)
    report.resources = _utilisation(reader, reader.obj(document, "utilization"))
    clocks = _fmax(reader, reader.obj(document, "fmax"))
    if clocks:
        report.timing = Timing(constraints_met=all(clock.met for clock in clocks), clocks=clocks)
    _check_paths(reader, document["critical_paths"])
    return report


def _utilisation(reader: _Reader, utilisation: JsonObject) -> dict[str, ResourceCount]:
    resources: dict[str, ResourceCount] = {}
    for name in utilisation:
        entry = reader.obj(utilisation, name)
        reader.exact_keys(entry, ("used", "available"), f"utilization of {name}")
        used, available = reader.count(entry, "used"), reader.count(entry, "available")
        if available == 0 and used > 0:
            resources[name] = ResourceCount(used=used)  # a cell type without bels of its own
            continue
        if used > available:
            raise reader.fail(
                entry,
                "used",
                f"{name}: used {used} exceeds available {available}",
                "used ≤ available",
            )
        resources[name] = ResourceCount(used=used, available=available)
    for name, canonical in CANONICAL_CELLS.items():
        if name in resources:
            resources[canonical] = ResourceCount(resources[name].used, resources[name].available)
    return resources


def _fmax(reader: _Reader, fmax: JsonObject) -> list[ClockTiming]:
    clocks = []
    for name in fmax:
        entry = reader.obj(fmax, name)
        reader.exact_keys(entry, ("achieved", "constraint"), f"fmax of {name}")
        achieved, constraint = reader.mhz(entry, "achieved"), reader.mhz(entry, "constraint")
        clocks.append(
            ClockTiming(
                name=name,
                fmax_mhz=achieved,
                constraint_mhz=constraint,
                met=constraint < achieved,
            )
        )
    return clocks


def _check_paths(reader: _Reader, paths: Any) -> None:
    if not isinstance(paths, JsonArray):
        raise ReportError("critical_paths is not a list", file=reader.file, expected="a list")
    for path in paths:
        if not isinstance(path, JsonObject):
            raise reader.fail(paths, None, "a critical path is not an object", "an object")
        reader.exact_keys(path, ("from", "to", "path"), "a critical path")
        segments = path["path"]
        if not isinstance(segments, JsonArray):
            raise reader.fail(path, "path", "path is not a list", "a list of segments")
        for segment in segments:
            if not isinstance(segment, JsonObject) or not set(segment) <= _SEGMENT_KEYS:
                raise reader.fail(
                    segment if isinstance(segment, JsonObject) else segments,
                    None,
                    "malformed path segment",
                    ", ".join(sorted(_SEGMENT_KEYS)),
                )
            delay = segment.get("delay")
            if isinstance(delay, bool) or not isinstance(delay, int | float):
                raise reader.fail(segment, "delay", f"segment delay is {delay!r}", "a number (ns)")
