"""Yosys ``stat`` text (logs and tee'd files) read into :mod:`yosys_stat_model` blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token, Transformer

from .lark_support import ensure_final_newline, error_at, grammar, parse_tree, transform
from .report import ReportError
from .yosys_stat_model import ModuleStats, StatBlock, TypeRow, check_module

_OLD_NUMBER = re.compile(r"^   Number of (?P<label>[a-z ]+):\s+(?P<count>\d+)\s*$")
_OLD_ROW = re.compile(r"^(?P<indent> +)(?P<name>\S.*?)\s+(?P<count>\d+)\s*$")
_NEW_ROW_1 = re.compile(r"^ *(?P<count>\d+|-)(?P<gap> +)(?P<label>\S.*?)\s*$")
_NEW_ROW_2 = re.compile(
    r"^ *(?P<count>\d+|-) +(?P<area>\d+(?:\.\d+)?|-)(?P<gap> +)(?P<label>\S.*?)\s*$"
)
_MODULE_HEAD = re.compile(r"^=== (?P<name>.*?)(?: \(partially selected\))? ===\s*$")
LABELS = (
    "wires",
    "wire bits",
    "public wires",
    "public wire bits",
    "ports",
    "port bits",
    "memories",
    "memory bits",
    "processes",
    "cells",
    "submodules",
)
_TYPE_GAP = 3  # count-first layout: "   TYPE" rows sit three spaces after the number


@dataclass
class LogFacts:
    """What a log states besides statistics."""

    version: str | None = None
    version_line: int | None = None
    error: str | None = None
    finished: bool = False
    blocks: list[tuple[int, StatBlock | str]] = field(default_factory=list)  # str = JSON text


class _ToBlocks(Transformer):  # type: ignore[type-arg]
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    # --- top level ---------------------------------------------------------------
    def start(self, children: list[object]) -> LogFacts:
        facts = LogFacts()
        for child in children:
            if isinstance(child, StatBlock):
                facts.blocks.append((child.line, child))
            elif isinstance(child, Token):
                if child.type == "VERSION_LINE":
                    version = str(child).strip()
                    if facts.version is None:
                        facts.version, facts.version_line = version, child.line
                    elif version != facts.version:
                        raise error_at(
                            child,
                            f"a second Yosys version {version!r}",
                            self.file,
                            expected=f"{facts.version!r} (line {facts.version_line})",
                        )
                elif child.type == "JSON_STAT":
                    facts.blocks.append((child.line, str(child)))
                elif child.type == "ERROR_LINE" and facts.error is None:
                    facts.error = str(child).strip()
                elif child.type == "END_LINE":
                    facts.finished = True
        return facts

    def stat_section(self, children: list[object]) -> StatBlock:
        header = children[0]
        assert isinstance(header, Token)
        block = StatBlock(line=header.line)
        for child in children[1:]:
            assert isinstance(child, tuple)
            kind, stats, top = child
            if kind == "module":
                if stats.name in block.modules:
                    raise ReportError(
                        f"module {stats.name!r} listed twice in one statistics section",
                        file=self.file,
                        line=stats.line,
                    )
                block.modules[stats.name] = stats
            else:
                block.hierarchy, block.top = stats, top
        return block

    # --- blocks ------------------------------------------------------------------
    def module_block(self, children: list[object]) -> tuple[str, ModuleStats, None]:
        head, stats = children
        assert isinstance(head, Token) and isinstance(stats, ModuleStats)
        match = _MODULE_HEAD.match(str(head))
        assert match is not None
        stats.name, stats.line = match["name"], head.line
        check_module(stats, self.file)
        return "module", stats, None

    def hierarchy(self, children: list[object]) -> tuple[str, ModuleStats, str]:
        head, (listing, stats) = children  # type: ignore[misc]
        stats.name, stats.line = "design hierarchy", head.line
        check_module(stats, self.file)
        if not listing:
            raise error_at(head, "design hierarchy without its top module", self.file)
        return "hierarchy", stats, listing[0]

    def old_stats(self, children: list[Token]) -> ModuleStats:
        stats = ModuleStats(name="", line=children[0].line)
        for token in children:
            if token.type == "OLD_NUMBER":
                match = _OLD_NUMBER.match(str(token))
                assert match is not None
                if stats.cell_rows:
                    raise error_at(token, "count after the cell type rows", self.file)
                self._count(stats, match["label"], int(match["count"]), token)
            elif token.type == "OLD_ROW":
                match = _OLD_ROW.match(str(token))
                assert match is not None
                if len(match["indent"]) != 5:
                    raise error_at(
                        token,
                        "cell type row indented by " + str(len(match["indent"])),
                        self.file,
                        expected="five spaces before the cell type",
                    )
                stats.cell_rows.append(TypeRow(match["name"], int(match["count"]), token.line))
        return stats

    def old_hierarchy(self, children: list[object]) -> tuple[list[str], ModuleStats]:
        *rows, stats = children
        listing = []
        for token in rows:
            assert isinstance(token, Token)
            match = _OLD_ROW.match(str(token))
            assert match is not None
            listing.append(match["name"])
            if len(listing) == 1 and (len(match["indent"]) != 3 or match["count"] != "1"):
                raise error_at(
                    token, "design hierarchy must start with its top module, count 1", self.file
                )
        assert isinstance(stats, ModuleStats)
        return listing, stats

    def new_marker(self, children: list[Token]) -> bool:
        return len(children) == 3  # an area column follows the count

    def new_stats(self, children: list[object]) -> ModuleStats:
        with_area, *rows = children
        return self._new_rows(bool(with_area), [row for row in rows if _is_row(row)])

    def new_hierarchy(self, children: list[object]) -> tuple[list[str], ModuleStats]:
        index = next(i for i, child in enumerate(children[1:], 1) if isinstance(child, bool))
        listing_area, listing_rows = bool(children[0]), children[1:index]
        listing = []
        for token in listing_rows:
            assert isinstance(token, Token)
            match = self._split(token, listing_area)
            listing.append(match["label"])
        rest = children[index + 1 :]
        stats = self._new_rows(bool(children[index]), [row for row in rest if _is_row(row)])
        return listing, stats

    # --- helpers -------------------------------------------------------------------
    def _split(self, token: Token, with_area: bool) -> re.Match[str]:
        match = (_NEW_ROW_2 if with_area else _NEW_ROW_1).match(str(token))
        if match is None:
            raise error_at(
                token,
                "statistics row does not match its columns",
                self.file,
                expected="count, area and name" if with_area else "count and name",
            )
        return match

    def _count(self, stats: ModuleStats, label: str, value: int | None, token: Token) -> None:
        if label in stats.counts:
            raise error_at(token, f"{label!r} stated twice", self.file, expected="each count once")
        stats.counts[label] = value
        stats.count_lines[label] = token.line

    def _new_rows(self, with_area: bool, rows: list[Token]) -> ModuleStats:
        stats = ModuleStats(name="", line=rows[0].line, rows_sum_to_counts=True)
        under: str | None = None
        for token in rows:
            match = self._split(token, with_area)
            gap, label = len(match["gap"]), match["label"]
            count = None if match["count"] == "-" else int(match["count"])
            if gap == 1:
                if label not in LABELS:
                    raise error_at(
                        token, f"unknown statistic {label!r}", self.file, expected=", ".join(LABELS)
                    )
                self._count(stats, label, count, token)
                under = label if label in ("cells", "submodules") else None
            elif gap == _TYPE_GAP:
                if under is None or count is None:
                    raise error_at(
                        token,
                        f"cell type row {label!r} outside a cells/submodules list",
                        self.file,
                        expected="type rows right after 'cells' or 'submodules'",
                    )
                target = stats.cell_rows if under == "cells" else stats.submodule_rows
                target.append(TypeRow(label, count, token.line))
            else:
                raise error_at(
                    token,
                    f"statistics row with {gap} spaces before its name",
                    self.file,
                    expected="1 space before a statistic, 3 before a cell type",
                )
        return stats


def _is_row(child: object) -> bool:
    return isinstance(child, Token) and child.type == "NEW_ROW"


def read_log(text: str, file: str | None) -> LogFacts:
    tree = parse_tree(grammar("yosys_stat"), ensure_final_newline(text), file, "Yosys log")
    return transform(_ToBlocks(file), tree)
