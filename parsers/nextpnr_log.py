"""nextpnr log: device utilisation per cell type and the final Fmax per clock.

Resources are keyed by the cell names nextpnr prints (ICESTORM_LC, TRELLIS_COMB, CPE_LT,
…) plus ``lc`` for iCE40 logic cells. Timing comes from the last "Max frequency" report
after routing completed; a log that stops before that (or a placement-only run) states
no timing rather than the placer's estimate. A run that crashed or reported an error
other than failed timing is ``failed`` and states no numbers; failed timing alone is
``constraints_met = False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token, Transformer

from .common import check_used_available
from .lark_support import ensure_final_newline, error_at, grammar, parse_tree, transform
from .report import ClockTiming, Report, ReportError, ResourceCount, Timing

KIND = "pnr_log"
_ROW = re.compile(
    r"^Info:\s+(?P<name>[^\n:]+?):\s+(?P<used>\d+)/\s*(?P<available>\d+)\s+(?P<percent>\d+)%\s*$"
)
_FMAX = re.compile(
    r"^(?P<level>Info|Warning|ERROR): Max frequency for clock +'(?P<name>.*)': "
    r"(?P<fmax>\d+(?:\.\d+)?) MHz(?: \((?P<verdict>PASS|FAIL) at (?P<target>\d+(?:\.\d+)?) MHz\))?\s*$"
)
_SUMMARY = re.compile(r"^(?P<warnings>\d+) warnings?, (?P<errors>\d+) errors?\s*$")
_DEVICE = re.compile(r"for device '(?P<device>[^']*)'")
_FIRST_LINE = re.compile(r"\A\s*(?:Info|Warning|ERROR): ")
_MARKERS = ("Info: Device utilisation:", "Max frequency for clock", "Info: Program finished")
# iCE40 logic cells under their canonical name (surrogate.observation.CANONICAL_RESOURCES).
CANONICAL_CELLS = {"ICESTORM_LC": "lc"}


def looks_like(text: str) -> bool:
    return _FIRST_LINE.match(text[:500]) is not None and any(m in text for m in _MARKERS)


Row = tuple[str, int, int, int, int]  # name, used, available, percent, line
FmaxReport = list[tuple[ClockTiming, str]]  # clock and the level it was logged at


@dataclass
class _Facts:
    """What the log states, in the order nextpnr wrote it."""

    utilisation: list[tuple[Token, list[Row]]] = field(default_factory=list)
    fmax_blocks: list[FmaxReport] = field(default_factory=list)
    routed_blocks: list[FmaxReport] = field(default_factory=list)  # reports after routing
    errors: list[Token] = field(default_factory=list)
    crash: Token | None = None
    summary: tuple[int, int, Token] | None = None
    finished: bool = False
    routed: bool = False
    device: str | None = None
    no_fmax_after_last_block: bool = False


class _ToFacts(Transformer):  # type: ignore[type-arg]
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def start(self, children: list[object]) -> _Facts:
        facts = _Facts()
        for child in children:
            if isinstance(child, tuple) and child[0] == "utilisation":
                facts.utilisation.append((child[1], child[2]))
            elif isinstance(child, tuple) and child[0] == "fmax":
                facts.fmax_blocks.append(child[1])
                facts.no_fmax_after_last_block = False
                if facts.routed:
                    facts.routed_blocks.append(child[1])
            elif isinstance(child, Token):
                self._token(facts, child)
        return facts

    def _token(self, facts: _Facts, token: Token) -> None:
        if token.type == "ERROR_LINE":
            facts.errors.append(token)
        elif token.type == "CRASH":
            facts.crash = facts.crash or token
        elif token.type == "FINISHED":
            facts.finished = True
        elif token.type == "NO_FMAX":
            facts.no_fmax_after_last_block = True
        elif token.type == "ROUTED":
            facts.routed, facts.routed_blocks = True, []
        elif token.type == "SUMMARY":
            match = _SUMMARY.match(str(token))
            assert match is not None
            facts.summary = (int(match["warnings"]), int(match["errors"]), token)
        elif token.type == "DEVICE_LINE":
            match = _DEVICE.search(str(token))
            assert match is not None
            facts.device = match["device"]

    def util_block(self, children: list[Token]) -> tuple[str, Token, list[Row]]:
        rows = []
        for token in children[1:]:
            match = _ROW.match(str(token).rstrip("\n"))
            assert match is not None  # UTIL_ROW guarantees the shape
            rows.append(
                (
                    match["name"],
                    int(match["used"]),
                    int(match["available"]),
                    int(match["percent"]),
                    token.line,
                )
            )
        return "utilisation", children[0], rows

    def prepack_block(self, children: list[object]) -> None:
        return None  # checked for shape by the grammar; not the placed design

    def prepack_group(self, children: list[Token]) -> None:
        return None

    def fmax_block(self, children: list[Token]) -> tuple[str, FmaxReport]:
        clocks: FmaxReport = []
        seen: dict[str, int] = {}
        for token in children:
            match = _FMAX.match(str(token).rstrip("\n"))
            assert match is not None
            name = match["name"]
            if name in seen:
                raise error_at(
                    token,
                    f"clock {name!r} reported twice in one timing report (first at line {seen[name]})",
                    self.file,
                )
            seen[name] = token.line
            fmax = float(match["fmax"])
            clock = ClockTiming(name=name, fmax_mhz=fmax)
            if match["verdict"] is not None:
                clock.constraint_mhz = float(match["target"])
                clock.met = match["verdict"] == "PASS"
                self._check_verdict(clock, token)
            clocks.append((clock, match["level"]))
        return "fmax", clocks

    def _check_verdict(self, clock: ClockTiming, token: Token) -> None:
        assert clock.fmax_mhz is not None and clock.constraint_mhz is not None
        if clock.met and clock.fmax_mhz < clock.constraint_mhz:
            raise error_at(
                token,
                f"PASS with {clock.fmax_mhz} MHz below the {clock.constraint_mhz} MHz target",
                self.file,
            )
        if not clock.met and clock.fmax_mhz > clock.constraint_mhz:
            raise error_at(
                token,
                f"FAIL with {clock.fmax_mhz} MHz above the {clock.constraint_mhz} MHz target",
                self.file,
            )


def parse(text: str, file: str | None = None) -> Report:
    tree = parse_tree(grammar("nextpnr_log"), ensure_final_newline(text), file, "nextpnr log")
    facts: _Facts = transform(_ToFacts(file), tree)
    report = Report(tool="nextpnr", kind=KIND, file=file, device=facts.device)
    _status(report, facts, file)
    if report.status == "failed":
        return report
    if facts.utilisation:
        report.resources = _resources(facts.utilisation[-1][1], file)
    if facts.routed_blocks and not facts.no_fmax_after_last_block:
        report.timing = _timing(facts.routed_blocks[-1])
    return report


def _status(report: Report, facts: _Facts, file: str | None) -> None:
    # a missed Fmax is reported as an error without --timing-allow-fail; it is not a failed run
    timing_errors = sum(1 for block in facts.fmax_blocks for _, level in block if level == "ERROR")
    if facts.crash is not None:
        report.status, report.status_text = "failed", str(facts.crash).strip()
    elif facts.errors:
        report.status, report.status_text = "failed", str(facts.errors[0]).strip()
    elif facts.summary is not None and facts.summary[1] > timing_errors:
        report.status = "failed"
        report.status_text = str(facts.summary[2]).strip()
    elif facts.finished:
        report.status, report.status_text = "ok", "Program finished normally"
        if facts.summary is not None and facts.summary[1]:
            report.status_text += f" ({facts.summary[1]} timing error(s))"


def _resources(rows: list[Row], file: str | None) -> dict[str, ResourceCount]:
    resources: dict[str, ResourceCount] = {}
    lines: dict[str, int] = {}
    for name, used, available, percent, line in rows:
        if name in resources:
            raise ReportError(
                f"{name} listed twice in device utilisation (first at line {lines[name]})",
                file=file,
                line=line,
                expected="each cell type once",
            )
        check_used_available(
            name, used, available, float(percent) if available else None, file=file, line=line
        )
        resources[name] = ResourceCount(used=used, available=available)
        lines[name] = line
    for name, canonical in CANONICAL_CELLS.items():
        if name in resources:
            resources[canonical] = ResourceCount(
                used=resources[name].used, available=resources[name].available
            )
    return resources


def _timing(block: FmaxReport) -> Timing:
    clocks = [clock for clock, _ in block]
    verdicts = [clock.met for clock in clocks]
    # nextpnr states an Fmax per clock, not one for the design: Timing.fmax_mhz stays unset
    return Timing(
        constraints_met=None if None in verdicts else all(verdicts),  # type: ignore[arg-type]
        clocks=clocks,
    )
