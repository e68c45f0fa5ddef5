"""Quartus ``*.sta.summary``: worst setup/hold slack per corner and clock.

``wns_ns``/``whs_ns`` are the smallest Setup/Hold slack over every corner and clock;
timing is met only when no listed slack (setup, hold, recovery, removal, minimum pulse
width) is below zero. Signs are kept as printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Token, Transformer

from .common import parse_number
from .lark_support import ensure_final_newline, error_at, grammar, parse_tree, transform
from .report import ClockTiming, Report, ReportError, Timing

KIND = "sta_summary"
_BANNER = re.compile(r"\A\s*-{10,}[ \t]*\n(?:TimeQuest )?Timing Analyzer Summary[ \t]*\n-{10,}")


@dataclass(frozen=True)
class SlackEntry:
    analysis: str
    clock: str
    corner: str | None
    slack_ns: float
    tns_ns: float
    line: int


def looks_like(text: str) -> bool:
    return _BANNER.match(text[:300]) is not None


_TYPE = re.compile(
    r"^Type\s*:\s*(?:(?P<corner>(?:Slow|Fast)(?: [^\s']+)*?) Model )?"
    r"(?P<analysis>Setup|Hold|Recovery|Removal|Minimum Pulse Width) '(?P<clock>.*)'\s*$"
)
_VALUE = re.compile(r"^\w+\s*:\s*(?P<value>\S+)\s*$")
_CORNER = re.compile(r"^Corner\s*:\s*(?P<corner>.*?) Model\s*$")


class _ToEntries(Transformer):  # type: ignore[type-arg]
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def _value(self, token: Token) -> float:
        match = _VALUE.match(str(token))
        assert match is not None  # the grammar's line terminal guarantees the shape
        try:
            return float(parse_number(match["value"], what="slack"))
        except ValueError as error:
            raise error_at(token, str(error), self.file) from None

    def start(self, children: list[object]) -> list[SlackEntry]:
        return [child for child in children if isinstance(child, SlackEntry)]

    def block(self, children: list[Token]) -> SlackEntry:
        type_line, slack_line, tns_line, *corner_line = children
        match = _TYPE.match(str(type_line))
        assert match is not None
        corner = match["corner"]
        if corner_line:
            if corner is not None:
                raise error_at(
                    corner_line[0],
                    "corner stated twice for one slack",
                    self.file,
                    expected="the corner either in 'Type' or in 'Corner', not both",
                )
            corner_match = _CORNER.match(str(corner_line[0]))
            assert corner_match is not None
            corner = corner_match["corner"]
        tns = self._value(tns_line)
        if tns > 0:
            raise error_at(tns_line, f"positive total negative slack {tns}", self.file)
        return SlackEntry(
            match["analysis"], match["clock"], corner, self._value(slack_line), tns, type_line.line
        )


def parse(text: str, file: str | None = None) -> Report:
    tree = parse_tree(
        grammar("quartus_sta_summary"), ensure_final_newline(text), file, "Quartus STA summary"
    )
    entries: list[SlackEntry] = transform(_ToEntries(file), tree)
    _check_tns(entries, file)
    report = Report(tool="quartus", kind=KIND, file=file)
    report.timing = timing_from(entries)
    return report


def _check_tns(entries: list[SlackEntry], file: str | None) -> None:
    """A clock's TNS is zero when its worst slack is not negative, and never above it."""
    for entry in entries:
        if entry.slack_ns >= 0 and entry.tns_ns != 0:
            raise ReportError(
                f"TNS {entry.tns_ns} with non-negative slack {entry.slack_ns}",
                file=file,
                line=entry.line,
            )
        if entry.slack_ns < 0 and entry.tns_ns > entry.slack_ns + 1e-9:
            raise ReportError(
                f"TNS {entry.tns_ns} is above the worst slack {entry.slack_ns}",
                file=file,
                line=entry.line,
            )


def timing_from(entries: list[SlackEntry]) -> Timing:
    setup = [entry.slack_ns for entry in entries if entry.analysis == "Setup"]
    hold = [entry.slack_ns for entry in entries if entry.analysis == "Hold"]
    clocks: dict[str, ClockTiming] = {}
    for entry in entries:
        clock = clocks.setdefault(entry.clock, ClockTiming(name=entry.clock, met=True))
        if entry.slack_ns < 0:
            clock.met = False
    return Timing(
        wns_ns=min(setup) if setup else None,
        whs_ns=min(hold) if hold else None,
        constraints_met=all(entry.slack_ns >= 0 for entry in entries) if entries else None,
        clocks=list(clocks.values()),
    )
