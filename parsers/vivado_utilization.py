"""Vivado ``report_utilization`` (flat and ``-hierarchical``) → :class:`Report`.

Flat reports: ``lut`` is the Slice LUTs / CLB LUTs row, ``ff`` Slice / CLB Registers,
``bram_tile`` Block RAM Tile (halves happen: a RAMB18 is half a tile), ``uram`` URAM,
``dsp`` DSPs, ``io`` Bonded IOB, each with used and available. Rows are read only from
the section that owns them (a LUT count is never picked up from Primitives or from the
distribution section), only at the top level of the table (sub-rows are indented), and
every typed row is checked: used ≤ available and the stated Util% agrees with
used/available to Vivado's two decimals (rounded since 2015, truncated in 2014).

Hierarchical reports: the top instance row (module ``(top)``) gives ``lut`` (Total
LUTs), ``ff``, ``ramb36``, ``ramb18``, ``uram`` (when the column exists) and ``dsp``,
used only — the report states no available counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Token, Transformer

from .common import check_used_available
from .report import Report, ReportError, ResourceCount
from .vivado_common import (
    Cell,
    Header,
    VivadoHeaderMixin,
    check_toc,
    is_vivado_report,
    located,
    number_at,
    run_parser,
    split_row,
)

TITLE = "Utilization Design Information"

# (section rule, row name, resource key, required)
_FLAT_ROWS: dict[str, list[tuple[tuple[str, ...], str, bool]]] = {
    "logic": [
        (("Slice LUTs", "CLB LUTs"), "lut", True),
        (("Slice Registers", "CLB Registers"), "ff", True),
    ],
    "memory": [(("Block RAM Tile",), "bram_tile", True), (("URAM",), "uram", False)],
    "dsp": [(("DSPs",), "dsp", True)],
    "io": [(("Bonded IOB",), "io", False)],
}

_HIER_COLUMNS = {
    "Total LUTs": "lut",
    "FFs": "ff",
    "RAMB36": "ramb36",
    "RAMB18": "ramb18",
    "URAM": "uram",
    "DSP Blocks": "dsp",
    "DSP48 Blocks": "dsp",
}

# Util% has two decimals, rounded (2015+) or truncated (2014): allow one unit of the last place.
_UTIL_TOLERANCE = 0.0101


def looks_like(text: str) -> bool:
    """A Vivado report titled ``Utilization Design Information``."""
    return is_vivado_report(text, TITLE)


def parse(text: str, file: str | None = None) -> Report:
    """Parse a flat or hierarchical utilisation report; see the module docstring."""
    return run_parser(
        "vivado_utilization", text, file, _Transform(file).transform, "Vivado utilization report"
    )


@dataclass
class _SiteRow:
    name: str
    indent: int
    used: int | float | None
    available: int | None
    where: Cell


class _Transform(VivadoHeaderMixin, Transformer):
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    # -- typed site tables ----------------------------------------------------------
    # Terminal callbacks (named as the terminal): a typed row is one token.
    def SITE_ROW(self, token: Token) -> _SiteRow:
        name, used, _fixed, available, percent = split_row(token)
        return _site_row(name, used, available, percent)

    def SITE_ROW_PROHIBITED(self, token: Token) -> _SiteRow:
        name, used, _fixed, _prohibited, available, percent = split_row(token)
        return _site_row(name, used, available, percent)

    def site_table(self, children: list[Any]) -> list[_SiteRow]:
        return [child for child in children if isinstance(child, _SiteRow)]

    def _flat_section(self, kind: str, children: list[Any]) -> tuple[str, Token, Any]:
        title = children[0]
        rows: list[_SiteRow] = children[-1]
        found: dict[str, ResourceCount] = {}
        for names, key, required in _FLAT_ROWS[kind]:
            matches = [row for row in rows if row.indent == 0 and row.name in names]
            if len(matches) > 1:
                raise located(matches[1].where, f"row {matches[1].name!r} appears twice")
            if not matches:
                if required:
                    raise located(title, f"section {str(title)!r} has no {' / '.join(names)} row")
                continue
            row = matches[0]
            if row.used is None:
                raise located(row.where, f"{row.name}: no used count", "a number")
            found[key] = ResourceCount(used=row.used, available=row.available)
        return (kind, title, found)

    def logic_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._flat_section("logic", children)

    def memory_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._flat_section("memory", children)

    def dsp_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._flat_section("dsp", children)

    def io_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._flat_section("io", children)

    def other_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return ("other", children[0], None)

    # -- hierarchy ------------------------------------------------------------------
    def hier_head(self, children: list[Token]) -> list[Token]:
        return list(children)

    def hier_table(self, children: list[Any]) -> dict[str, ResourceCount]:
        head: list[Token] = next(child for child in children if isinstance(child, list))
        rows = [
            split_row(child)
            for child in children
            if isinstance(child, Token) and child.type == "HIER_ROW"
        ]
        has_module = head[1].type == "H_MODULE"
        columns = head[2:] if has_module else head[1:]
        top: list[Cell] | None = None
        for cells in rows:
            if len(cells) != len(head):
                raise located(
                    cells[-1], f"hierarchy row has {len(cells)} cells, the header has {len(head)}"
                )
            if cells[0].indent == 0:
                if top is not None:
                    raise located(cells[0], "a second top-level instance row")
                top = cells
        if top is None:
            raise located(head[0], "hierarchy table has no top-level instance row", "a (top) row")
        if has_module and top[1].text != "(top)":
            raise located(top[1], "the top-level instance row is not module (top)", "(top)")
        resources: dict[str, ResourceCount] = {}
        values = top[2:] if has_module else top[1:]
        for column, cell in zip(columns, values, strict=True):
            name = str(column)
            if not cell.text:
                continue
            value = number_at(cell, f"{name} of the top instance")
            if not isinstance(value, int) or value < 0:
                raise located(cell, f"{name}: expected a whole count, got {cell.text!r}")
            key = _HIER_COLUMNS.get(name)
            if key is not None:
                resources[key] = ResourceCount(used=value)
        return resources

    def hier_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return ("hier", children[0], children[-1])

    # -- whole report ---------------------------------------------------------------
    def toc(self, children: list[Token]) -> list[Token]:
        return [child for child in children if child.type == "TOC_ENTRY"]

    def start(self, children: list[Any]) -> Report:
        header: Header = children[0]
        toc: list[Token] = next(c for c in children if isinstance(c, list))
        sections = [child for child in children if isinstance(child, tuple)]
        check_toc(toc, [title for _kind, title, _value in sections])
        resources: dict[str, ResourceCount] = {}
        seen: dict[str, Token] = {}
        for kind, title, value in sections:
            if kind == "other":
                continue
            if kind in seen:
                raise located(title, f"a second {str(title)!r} section")
            seen[kind] = title
            resources.update(value)
        if "hier" in seen and len(seen) > 1:
            raise located(seen["hier"], "hierarchical and flat utilisation in one report")
        if not seen:
            raise ReportError("no Slice/CLB Logic or Utilization by Hierarchy section")
        return Report(
            tool="vivado",
            kind="utilization",
            file=self.file,
            tool_version=header.tool_version,
            device=header.device,
            design=header.design,
            resources=resources,
        )


def _site_row(name: Cell, used: Cell, available: Cell, percent: Cell) -> _SiteRow:
    label = name.text.rstrip("*").rstrip()
    used_value = number_at(used, f"{label} used") if used.text else None
    available_value = int(available.text) if available.text else None
    _check_util(label, used_value, available_value, used, percent)
    return _SiteRow(label, name.indent, used_value, available_value, name)


def _check_util(
    label: str,
    used: int | float | None,
    available: int | None,
    used_cell: Cell,
    percent: Cell,
) -> None:
    """used ≤ available and Util% = used/available (two decimals; ``<0.01`` = under 0.01%)."""
    check_used_available(label, used, available, None, line=used_cell.line, column=used_cell.column)
    tiny = percent.text.startswith("<")
    stated = None if not percent.text or tiny else float(percent.text)
    check_used_available(
        label,
        used,
        available,
        stated,
        tolerance=_UTIL_TOLERANCE,
        line=percent.line,
        column=percent.column,
    )
    if tiny and used is not None and available:
        actual = 100.0 * used / available
        if not 0 < actual < 0.01 + _UTIL_TOLERANCE:
            raise located(percent, f"{label}: stated <0.01% disagrees with {used}/{available}")
    if percent.text and (used is None or available is None):
        raise located(percent, f"{label}: Util% stated without used and available counts")
