"""Quartus ``*.fit.rpt``: the whole Fitter report, checked structurally.

Every table must be well formed (rows aligned with their borders), the sections must be
exactly those the table of contents lists, and the Fitter Summary table is read with the
same key meanings as ``*.fit.summary``. Other tables are recognised, not interpreted.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from lark import Token, Transformer

from .lark_support import ensure_final_newline, error_at, grammar, parse_tree, transform
from .quartus_fit_summary import report_from_entries
from .quartus_summary import read_entries
from .report import Report, ReportError

KIND = "fit_rpt"
SUMMARY_TITLE = "Fitter Summary"
MESSAGES_TITLE = "Fitter Messages"
_TOC_ENTRY = re.compile(r"^ *(?P<number>\d+(?:\.\d+)*)\.? (?P<title>.*?)\s*$")


@dataclass
class RowGroup:
    """Consecutive ';' rows and the border that closes them."""

    rows: list[tuple[int, str]]  # (line, row text)
    closing_border: str


@dataclass
class Section:
    title: str
    line: int
    body: str  # "table", "text_body", "messages", "empty"
    groups: list[RowGroup] = field(default_factory=list)
    column_border: str | None = None


def looks_like(text: str) -> bool:
    return text.lstrip("\ufeff\n").startswith("Fitter report for ")


def _lines(token: Token) -> list[tuple[int, str]]:
    return [
        (token.line + index, row.rstrip(" \t"))
        for index, row in enumerate(str(token).rstrip("\n").split("\n"))
    ]


class _ToSections(Transformer):  # type: ignore[type-arg]
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def _aligned(self, border: str, rows: list[tuple[int, str]]) -> None:
        """Rows must put their ';' exactly where the border above puts its '+'."""
        border = border.rstrip()
        columns = [index for index, char in enumerate(border) if char == "+"]
        if not columns:  # a dash rule frames a one-cell box
            columns = [0, len(border) - 1]
        for line, row in rows:
            if (
                len(row) != len(border)
                or row.count(";") != len(columns)
                or any(row[index] != ";" for index in columns)
            ):
                raise ReportError(
                    "table row does not line up with its border",
                    file=self.file,
                    line=line,
                    expected=f"{len(columns) - 1} ';'-separated cells, {len(border)} characters wide",
                )

    def start(
        self, children: list[object]
    ) -> tuple[str | None, list[tuple[str, int]], list[Section]]:
        version, toc, *sections = children
        return version, toc, sections  # type: ignore[return-value]

    def header(self, children: list[Token]) -> str:
        return str(children[2]).strip()

    def toc(self, children: list[Token]) -> list[tuple[str, str, int]]:
        self._aligned(str(children[0]), _lines(children[1]))
        entries = []
        for token in children[3:]:
            match = _TOC_ENTRY.match(str(token))
            assert match is not None  # the grammar's TOC_ENTRY guarantees the shape
            entries.append((match["number"], match["title"], token.line))
        return entries

    def section(self, children: list[object]) -> Section:
        *_, (title, line, column_border), (body, groups) = children
        section = Section(title=title, line=line, body=body, groups=groups)
        if groups:
            self._aligned(column_border, groups[0].rows)
            section.column_border = column_border.rstrip()
            for previous, group in itertools.pairwise(groups):
                self._aligned(previous.closing_border, group.rows)
            for group in groups:
                if group.closing_border.rstrip() != section.column_border:
                    raise ReportError(
                        "table border changes width within one table",
                        file=self.file,
                        line=group.rows[-1][0] + 1,
                        expected=section.column_border,
                    )
        return section

    def box(self, children: list[Token]) -> tuple[str, int, str]:
        top, title_rows, bottom = children
        rows = _lines(title_rows)
        if len(rows) != 1:
            raise ReportError(
                "a section title box holds one row",
                file=self.file,
                line=rows[1][0],
                expected="a border line after the title",
            )
        self._aligned(str(top), rows)
        if len(str(bottom).rstrip()) != len(str(top).rstrip()):
            raise error_at(bottom, "title box borders differ in width", self.file)
        return rows[0][1].strip("; \t"), title_rows.line, str(bottom)

    def row_group(self, children: list[Token]) -> RowGroup:
        return RowGroup(rows=_lines(children[0]), closing_border=str(children[1]))

    def table(self, children: list[object]) -> tuple[str, list[RowGroup]]:
        return "table", [child for child in children if isinstance(child, RowGroup)]

    def text_body(self, children: list[Token]) -> tuple[str, list[RowGroup]]:
        return "text_body", []

    def messages(self, children: list[Token]) -> tuple[str, list[RowGroup]]:
        return "messages", []

    def empty(self, children: list[Token]) -> tuple[str, list[RowGroup]]:
        return "empty", []


def parse(text: str, file: str | None = None) -> Report:
    text = ensure_final_newline(text)
    if not text.endswith("\n\n"):
        text += "\n"  # every section ends with a blank line, the last one too
    tree = parse_tree(grammar("quartus_fit_rpt"), text, file, "Quartus fit report")
    header_version, toc, sections = transform(_ToSections(file), tree)
    _check_contents(toc, sections, file)
    summary = _section(sections, SUMMARY_TITLE, file)
    if summary.body != "table" or len(summary.groups) != 1:
        raise ReportError(
            "the Fitter Summary is not a two-column key/value table",
            file=file,
            line=summary.line,
            expected="rows '; key ; value ;' under the title",
        )
    entries = read_entries(_as_key_values(summary, file), file, "Fitter Summary table")
    report = report_from_entries(entries, KIND, file)
    if report.tool_version is None:
        report.tool_version = header_version.replace(" Version ", " ", 1)
    messages = [section for section in sections if section.title == MESSAGES_TITLE]
    if messages and messages[0].body not in ("messages", "empty"):
        raise ReportError(
            "the Fitter Messages section holds no messages",
            file=file,
            line=messages[0].line,
            expected="lines 'Info (…): …', 'Warning (…): …'",
        )
    return report


def _section(sections: list[Section], title: str, file: str | None) -> Section:
    for section in sections:
        if section.title == title:
            return section
    raise ReportError(f"no {title!r} section", file=file, expected=f"a {title!r} table")


def _check_contents(
    toc: list[tuple[str, str, int]], sections: list[Section], file: str | None
) -> None:
    """The sections present are exactly the leaf entries of the table of contents."""
    numbers = [number for number, _, _ in toc]
    leaves = [
        (title, line)
        for index, (number, title, line) in enumerate(toc)
        if not (index + 1 < len(numbers) and numbers[index + 1].startswith(number + "."))
    ]
    titles = [section.title for section in sections if section.title != "Table of Contents"]
    for index, (expected, line) in enumerate(leaves):
        if index >= len(titles):
            raise ReportError(
                f"contents list {expected!r} but the report ends before it",
                file=file,
                line=line,
                expected=f"a section titled {expected!r}",
            )
        if titles[index] != expected:
            raise ReportError(
                f"section {titles[index]!r} where the contents list {expected!r}",
                file=file,
                line=sections[index].line if index < len(sections) else None,
                expected=repr(expected),
            )
    if len(titles) > len(leaves):
        extra = sections[len(leaves)]
        raise ReportError(
            f"section {extra.title!r} is not in the table of contents",
            file=file,
            line=extra.line,
            expected="only the sections the contents list",
        )


def _as_key_values(summary: Section, file: str | None) -> str:
    """The Fitter Summary rows as "Key : Value" lines at their original line numbers."""
    rows = summary.groups[0].rows
    lines = [""] * (rows[-1][0] + 1)
    for line, row in rows:
        cells = row.split(";")[1:-1]
        if len(cells) != 2:
            raise ReportError(
                "Fitter Summary row without exactly two cells",
                file=file,
                line=line,
                expected="'; key ; value ;'",
            )
        key, value = cells[0].rstrip(), cells[1].strip()
        lines[line - 1] = f"{key.strip()} : {value}"
    return "\n".join(lines[:-1]) + "\n"
