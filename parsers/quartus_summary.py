"""The "Key : Value" grammar shared by every Quartus summary, read into typed entries.

Quartus writes the same key/value block as a file (*.fit.summary, *.map.summary,
*.syn.summary, *.pow.summary) and as the Fitter Summary table of *.fit.rpt; both go
through this one grammar so that a key means the same thing wherever it appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lark import Token, Transformer

from .common import parse_int, parse_number
from .lark_support import ensure_final_newline, error_at, grammar, parse_tree, transform
from .report import ReportError

_STATUS = re.compile(r"^(?P<word>Successful|Failed|Canceled|Cancelled)(?: - (?P<when>\S.*))?$")


@dataclass(frozen=True)
class Quantity:
    """One stated quantity: a fraction, a bare count, a power, or an explicit absence."""

    form: Literal["fraction", "count", "power", "absent"]
    line: int  # set from the key's token once the whole entry is read
    used: int | None = None
    available: int | None = None
    percent: int | None = None  # stated whole percent
    below_percent: int | None = None  # "( < 1 % )": stated as under this percentage
    value: float | None = None  # a power value as printed
    unit: str | None = None


@dataclass
class SummaryEntries:
    """Everything a summary block states, in order, each with its line."""

    status_key: str
    status_word: str
    status_text: str
    status_line: int
    version_product: str | None = None
    version: str | None = None
    texts: dict[str, tuple[str, int]] = field(default_factory=dict)
    quantities: dict[str, Quantity] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status_word != "Successful"


class _ToEntries(Transformer):  # type: ignore[type-arg]
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file
        self._seen: dict[str, int] = {}

    def _once(self, key: Token) -> str:
        name = str(key).strip()
        if name in self._seen:
            raise error_at(
                key,
                f"{name!r} stated twice (first at line {self._seen[name]})",
                self.file,
                expected="each key once",
            )
        self._seen[name] = key.line
        return name

    def _number(self, token: Token, what: str) -> int:
        try:
            return parse_int(token, what=what)
        except ValueError as error:
            raise error_at(token, str(error), self.file) from None

    def start(self, children: list[Any]) -> SummaryEntries:
        status_key, status_value = children[0]
        match = _STATUS.match(str(status_value).strip())
        if match is None:
            raise error_at(
                status_value,
                f"unknown run status {str(status_value).strip()!r}",
                self.file,
                expected="'Successful - <date>' or 'Failed - <date>'",
            )
        entries = SummaryEntries(
            status_key=str(status_key),
            status_word=match["word"],
            status_text=str(status_value).strip(),
            status_line=status_key.line,
        )
        for kind, key, value in children[1:]:
            if kind == "text":
                entries.texts[key] = value
            elif kind == "version":
                entries.version_product, entries.version = value
            else:
                entries.quantities[key] = value
        return entries

    def status(self, children: list[Token]) -> tuple[Token, Token]:
        self._seen[str(children[0])] = children[0].line
        return children[0], children[1]

    def text_entry(self, children: list[Token]) -> tuple[str, str, tuple[str, int]]:
        key = self._once(children[0])
        return "text", key, (str(children[1]).strip(), children[0].line)

    def version_entry(self, children: list[Token]) -> tuple[str, str, tuple[str, str]]:
        key = self._once(children[0])
        return "version", key, (key.removesuffix(" Version"), str(children[1]).strip())

    def quantity_entry(self, children: list[Any]) -> tuple[str, str, Quantity]:
        key = self._once(children[0])
        return "quantity", key, replace(children[1], line=children[0].line)

    def fraction(self, children: list[Any]) -> Quantity:
        used = self._number(children[0], "used count")
        available = self._number(children[1], "available count")
        form, percent_token = children[2]
        percent = self._number(percent_token, "percentage")
        if form == "exact":
            return Quantity("fraction", 0, used, available, percent=percent)
        return Quantity("fraction", 0, used, available, below_percent=percent)

    def percent_exact(self, children: list[Token]) -> tuple[str, Token]:
        return "exact", children[0]

    def percent_below(self, children: list[Token]) -> tuple[str, Token]:
        return "below", children[0]

    def count(self, children: list[Token]) -> Quantity:
        return Quantity("count", 0, self._number(children[0], "count"))

    def power(self, children: list[Token]) -> Quantity:
        try:
            value = float(parse_number(children[0], what="power"))
        except ValueError as error:
            raise error_at(children[0], str(error), self.file) from None
        return Quantity("power", 0, value=value, unit=str(children[1]))

    def absent(self, children: list[Token]) -> Quantity:
        return Quantity("absent", 0)


def read_entries(text: str, file: str | None, context: str) -> SummaryEntries:
    """Parse a "Key : Value" block; ``context`` names the report kind in syntax errors."""
    tree = parse_tree(grammar("quartus_summary"), ensure_final_newline(text), file, context)
    entries = transform(_ToEntries(file), tree)
    if not isinstance(entries, SummaryEntries):  # pragma: no cover - grammar guarantees it
        raise ReportError("empty summary", file=file)
    return entries
