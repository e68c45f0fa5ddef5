"""What the Vivado report parsers share: the header block, parsing glue, located errors.

Vivado's ``report_utilization``, ``report_power`` and ``report_timing_summary`` all open
with the same block (copyright line, dashed rule, ``| Key : value`` lines, dashed rule).
Each grammar spells that block out again (Lark grammars are self-contained here); the
Transformer half lives in :class:`VivadoHeaderMixin` so every kind reads it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lark import Token, UnexpectedInput
from lark.exceptions import VisitError

from .common import lark_error, load_grammar, normalise_text, parse_number
from .report import ReportError

# The copyright line (2022+ appends AMD's) and a ``| Tool Version : Vivado v.`` line
# within the first lines are what every Vivado text report starts with.
_VIVADO_PREAMBLE = re.compile(
    r"\A\s*Copyright \d{4}-\d{4} Xilinx, Inc\. All Rights Reserved\.[^\n]*\n-+\n"
    r"(?:\|[^\n]*\n)*?\| Tool Version\s*: Vivado v\.",
)


def is_vivado_report(text: str, title: str) -> bool:
    """Vivado preamble followed (after the header block) by ``title`` on a line of its own."""
    head = normalise_text(text[:6000])
    if not _VIVADO_PREAMBLE.match(head):
        return False
    return re.search(rf"^-+\n\n{re.escape(title)}[ \t]*$", head, re.MULTILINE) is not None


@dataclass
class Header:
    """The facts the Vivado header block states."""

    tool_version: str | None = None
    design: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class Cell:
    """One cell of a ``|``-separated table row, stripped, with where its text starts."""

    text: str
    line: int
    column: int
    indent: int  # spaces beyond the single pad after "|": sub-rows are indented


class Located(Protocol):
    line: int
    column: int


def split_row(row: Token) -> list[Cell]:
    """The cells of a row token ``| a | b |`` (the grammar has already typed them)."""
    raw = str(row)
    start = raw.index("|")
    cells: list[Cell] = []
    offset = start + 1
    for part in raw[start + 1 : raw.rindex("|")].split("|"):
        text = part.strip()
        lead = len(part) - len(part.lstrip()) if text else 0
        cells.append(Cell(text, row.line, row.column + offset + lead, max(lead - 1, 0)))
        offset += len(part) + 1
    return cells


def located(where: Located, message: str, expected: str | None = None) -> ReportError:
    """A ReportError pointing at a token or cell (the file is filled in by :func:`run_parser`)."""
    return ReportError(message, line=where.line, column=where.column, expected=expected)


def number_at(where: Token | Cell, what: str) -> int | float:
    """A token's or cell's text as a signed number, or a located error saying what was expected."""
    text = where.text if isinstance(where, Cell) else str(where)
    try:
        return parse_number(text, what=what)
    except ValueError:
        raise located(where, f"{what}: {text.strip()!r} is not a number", "a number") from None


class VivadoHeaderMixin:
    """Transformer callbacks for the header rules every Vivado grammar shares."""

    def tool_version(self, children: list[Any]) -> tuple[str, Token, str]:
        key, _vivado, version = children[0], children[1], children[2]
        return ("tool_version", key, str(version).removeprefix("v."))

    def design(self, children: list[Any]) -> tuple[str, Token, str | None]:
        key, value = children
        return ("design", key, _stripped(value))

    def device(self, children: list[Any]) -> tuple[str, Token, str | None]:
        key, value = children
        return ("device", key, _stripped(value))

    def header_other(self, children: list[Any]) -> tuple[str, Token, str | None]:
        key, value = children
        return (str(key).strip(), key, _stripped(value))

    def preamble(self, children: list[Any]) -> Header:
        header = Header()
        seen: set[str] = set()
        for item in children:
            if not isinstance(item, tuple):
                continue
            name, key, value = item
            if name in seen:
                raise located(key, f"header key {str(key).strip()!r} appears twice")
            seen.add(name)
            if name in ("tool_version", "design", "device"):
                setattr(header, name, value)
        if header.tool_version is None:
            raise ReportError("header block has no 'Tool Version' line", line=1)
        return header


def _stripped(value: Token | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def check_toc(toc: list[Token], titles: list[Token]) -> None:
    """Section titles must be the table of contents, in order: a report is one piece."""
    listed = [" ".join(str(entry).split()) for entry in toc]
    for index, title in enumerate(titles):
        text = " ".join(str(title).split())
        if index >= len(listed) or listed[index] != text:
            expected = listed[index] if index < len(listed) else "no further section"
            raise located(title, f"section {text!r} is not in the table of contents", expected)
    if len(titles) < len(listed):
        missing = listed[len(titles)]
        raise ReportError(f"section {missing!r} listed in the table of contents is missing")


def run_parser(
    grammar: str,
    text: str,
    file: str | None,
    transform: Callable[[Any], Any],
    what: str,
) -> Any:
    """Parse ``text`` with ``<grammar>.lark`` and transform it; every failure names the file.

    The text is normalised (CRLF, BOM) and its end is made uniform (one blank line) so a
    report saved with or without a trailing newline reads the same; line numbers are kept.
    """
    source = normalise_text(text).rstrip() + "\n\n"
    parser = load_grammar(grammar, propagate_positions=False)
    try:
        tree = parser.parse(source)
    except UnexpectedInput as error:
        raise lark_error(error, file, f"not a valid {what}") from None
    try:
        return transform(tree)
    except VisitError as error:  # how Lark hands on an error raised in a callback
        if isinstance(error.orig_exc, ReportError):
            raise _in_file(error.orig_exc, file) from None
        raise
    except ReportError as error:
        raise _in_file(error, file) from None


def _in_file(error: ReportError, file: str | None) -> ReportError:
    return error.in_file(file) if file is not None and error.file is None else error


__all__ = [
    "Cell",
    "Header",
    "VivadoHeaderMixin",
    "check_toc",
    "is_vivado_report",
    "located",
    "number_at",
    "run_parser",
    "split_row",
]
