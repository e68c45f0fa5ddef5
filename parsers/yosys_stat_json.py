"""Yosys ``stat -json`` documents read into :mod:`yosys_stat_model` blocks."""

from __future__ import annotations

from typing import Any

from .json_document import JsonObject, parse_json
from .report import ReportError
from .yosys_stat_model import ModuleStats, StatBlock, TypeRow, check_module

_COUNT_KEYS: dict[str, str] = {
    "num_wires": "wires",
    "num_wire_bits": "wire bits",
    "num_pub_wires": "public wires",
    "num_pub_wire_bits": "public wire bits",
    "num_ports": "ports",
    "num_port_bits": "port bits",
    "num_memories": "memories",
    "num_memory_bits": "memory bits",
    "num_processes": "processes",
    "num_cells": "cells",
    "num_submodules": "submodules",
}
_OTHER_KEYS = frozenset(
    {
        "num_cells_by_type",
        "area",
        "sequential_area",
        "estimated_num_transistors",
        "estimated_num_lc",
    }
)
_TOP_KEYS = frozenset({"creator", "invocation", "modules", "design"})


def looks_like_json(text: str) -> bool:
    """``stat -json`` output (a ``write_json`` netlist also has a Yosys creator, not this)."""
    head = text.lstrip()[:600]
    return head.startswith("{") and '"creator": "Yosys' in head and '"invocation": "stat' in head


def read_json(text: str, file: str | None, *, line_offset: int = 0) -> tuple[str, StatBlock]:
    """The creator (Yosys version) and the statistics a ``stat -json`` document states."""
    document = parse_json(text, file, what="Yosys stat -json")
    if not isinstance(document, JsonObject):
        raise ReportError("stat -json output is not an object", file=file, line=1 + line_offset)
    reader = _Reader(file, line_offset)
    reader.keys(document, _TOP_KEYS, "stat -json document")
    creator = reader.string(document, "creator")
    modules = document.get("modules")
    if not isinstance(modules, JsonObject):
        raise reader.error(document, "modules", "no 'modules' object", "an object of modules")
    block = StatBlock(line=(document.line or 1) + line_offset)
    for raw_name, stats in modules.items():
        name = raw_name.removeprefix("\\")
        block.modules[name] = reader.module(name, stats, modules.key_lines[raw_name])
    block.top = _top_name(block)
    if "design" in document:
        design = reader.module("design", document["design"], document.key_lines["design"])
        block.hierarchy = instances_as_cells(design, set(block.modules))
    block.modules = {
        name: instances_as_cells(stats, set()) for name, stats in block.modules.items()
    }
    return creator, block


def _top_name(block: StatBlock) -> str | None:
    """The top module: the one module no other module instantiates."""
    used = {row.name for stats in block.modules.values() for row in stats.cell_rows}
    roots = [name for name in block.modules if name not in used]
    return roots[0] if len(roots) == 1 else None


class _Reader:
    def __init__(self, file: str | None, line_offset: int) -> None:
        self.file = file
        self.offset = line_offset

    def error(self, obj: JsonObject, key: str | None, message: str, expected: str) -> ReportError:
        line = obj.key_lines.get(key, obj.line) if key is not None else obj.line
        return ReportError(
            message,
            file=self.file,
            line=None if line is None else line + self.offset,
            expected=expected,
        )

    def keys(self, obj: JsonObject, allowed: frozenset[str], what: str) -> None:
        for key in obj:
            if key not in allowed:
                raise self.error(
                    obj, key, f"unknown key {key!r} in {what}", ", ".join(sorted(allowed))
                )

    def string(self, obj: JsonObject, key: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str):
            raise self.error(obj, key, f"{key!r} is not a string", "a string")
        return value

    def count(self, obj: JsonObject, key: str) -> int:
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(obj, key, f"{key!r} is {value!r}", "a non-negative integer")
        return value

    def module(self, name: str, stats: Any, line: int) -> ModuleStats:
        if not isinstance(stats, JsonObject):
            raise ReportError(
                f"statistics of {name!r} are not an object", file=self.file, line=line + self.offset
            )
        self.keys(stats, frozenset(_COUNT_KEYS) | _OTHER_KEYS, f"statistics of {name!r}")
        result = ModuleStats(name=name, line=line + self.offset)
        for key, label in _COUNT_KEYS.items():
            if key in stats:
                result.counts[label] = self.count(stats, key)
                result.count_lines[label] = stats.key_lines[key] + self.offset
        by_type = stats.get("num_cells_by_type", JsonObject())
        if not isinstance(by_type, JsonObject):
            raise self.error(
                stats, "num_cells_by_type", "cell types are not an object", "an object"
            )
        for type_name in by_type:
            count = self.count(by_type, type_name)
            result.cell_rows.append(
                TypeRow(type_name, count, by_type.key_lines[type_name] + self.offset)
            )
        check_module(result, self.file)
        if "submodules" in result.counts:
            total = sum(row.count for row in result.cell_rows)
            stated = result.counts["cells"] + result.counts["submodules"]  # type: ignore[operator]
            if total != stated:
                raise self.error(
                    stats,
                    "num_cells_by_type",
                    f"{name}: cell types add up to {total}, cells + submodules = {stated}",
                    f"types summing to {stated}",
                )
        return result


def instances_as_cells(stats: ModuleStats, expanded: set[str]) -> ModuleStats:
    """JSON counts in the text model: submodule instances are cells unless expanded.

    ``num_cells`` excludes submodule instances (``num_submodules``) while
    ``num_cells_by_type`` lists both; instances of modules whose statistics are already
    summed into the totals (``expanded``) are moved aside so they are not counted twice.
    """
    cells = stats.counts["cells"]
    assert cells is not None
    submodules = stats.counts.get("submodules") or 0
    moved = [row for row in stats.cell_rows if row.name in expanded]
    kept = [row for row in stats.cell_rows if row.name not in expanded]
    counts = dict(stats.counts)
    if "submodules" in stats.counts:
        counts["cells"] = cells + submodules - sum(row.count for row in moved)
    return ModuleStats(
        name=stats.name,
        line=stats.line,
        counts=counts,
        count_lines=stats.count_lines,
        cell_rows=kept,
        submodule_rows=moved,
    )
