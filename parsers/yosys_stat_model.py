"""Yosys statistics as stated, and what a design's totals are.

The text layouts and ``stat -json`` are read into the same model; the design totals
follow Yosys' own rule: the "design hierarchy" block when printed (submodules that are
themselves printed modules are already expanded into it), else the only module.
Count-first layouts (Yosys ≥ 0.60) list library cells that are modules in the design
(e.g. SB_LUT4 while synth_ice40 runs) under "submodules"; they are cells of the design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .report import Report, ReportError, ResourceCount


@dataclass
class TypeRow:
    name: str
    count: int
    line: int


@dataclass
class ModuleStats:
    """One "=== name ===" block (or the design hierarchy totals)."""

    name: str
    line: int
    counts: dict[str, int | None] = field(default_factory=dict)  # label -> value ('-' is None)
    count_lines: dict[str, int] = field(default_factory=dict)
    cell_rows: list[TypeRow] = field(default_factory=list)
    submodule_rows: list[TypeRow] = field(default_factory=list)
    rows_sum_to_counts: bool = False  # count-first layouts and JSON state consistent sums


@dataclass
class StatBlock:
    """One "Printing statistics." section or one ``stat -json`` document."""

    line: int
    modules: dict[str, ModuleStats] = field(default_factory=dict)
    hierarchy: ModuleStats | None = None
    top: str | None = None


@dataclass(frozen=True)
class DesignTotals:
    design: str | None
    cells: int
    cells_by_type: dict[str, int] | None


def check_module(stats: ModuleStats, file: str | None) -> None:
    """Cells must be stated; in count-first layouts the rows must add up to their counts."""
    if stats.counts.get("cells") is None:
        raise ReportError(
            f"statistics of {stats.name!r} state no cell count",
            file=file,
            line=stats.line,
            expected="a 'cells' line",
        )
    if not stats.rows_sum_to_counts:
        return
    for label, rows in (("cells", stats.cell_rows), ("submodules", stats.submodule_rows)):
        stated = stats.counts.get(label)
        total = sum(row.count for row in rows)
        if stated is None:
            if rows:
                raise ReportError(
                    f"{label} rows without a {label} count", file=file, line=rows[0].line
                )
            continue
        if total != stated:
            raise ReportError(
                f"{stats.name}: {label} rows add up to {total}, stated {stated}",
                file=file,
                line=stats.count_lines.get(label, stats.line),
                expected=f"rows summing to {stated}",
            )


def design_totals(block: StatBlock, file: str | None) -> DesignTotals:
    if block.hierarchy is not None:
        stats, expanded, design = block.hierarchy, set(block.modules), block.top
    elif len(block.modules) == 1:
        (stats,) = block.modules.values()
        expanded, design = set(), stats.name
    else:
        raise ReportError(
            f"statistics for {len(block.modules)} modules and no design hierarchy totals",
            file=file,
            line=block.line,
            expected="one module, or a '=== design hierarchy ===' block (stat -top <module>)",
        )
    cells = stats.counts["cells"]
    assert cells is not None  # check_module ran
    by_type: dict[str, int] = {}
    lines: dict[str, int] = {}

    def add(row: TypeRow) -> None:
        if row.name in by_type:
            raise ReportError(
                f"cell type {row.name!r} listed twice (first at line {lines[row.name]})",
                file=file,
                line=row.line,
                expected="each cell type once",
            )
        by_type[row.name] = row.count
        lines[row.name] = row.line

    for row in stats.cell_rows:
        add(row)
    for row in stats.submodule_rows:
        if row.name in expanded:
            continue  # its cells are already in the hierarchy totals
        add(row)
        cells += row.count
    return DesignTotals(design, cells, by_type if by_type or cells == 0 else None)


def fill_report(report: Report, totals: DesignTotals) -> None:
    report.design = totals.design
    report.cells = totals.cells
    report.cells_by_type = totals.cells_by_type
    if totals.cells_by_type:
        report.resources = {
            name: ResourceCount(used=count) for name, count in totals.cells_by_type.items()
        }
