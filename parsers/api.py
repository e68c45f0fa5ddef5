"""Which parser reads which report, and the one way in: detect, parse, check the slot.

Every report kind is a module with ``looks_like(text) -> bool`` and
``parse(text, file=None) -> Report``. Detection is by content only (file names lie: a
nextpnr log saved as ``top.tim``); a forced ``kind`` is still checked against the
content, so a power report handed over as utilisation fails loudly instead of yielding
numbers of the wrong meaning.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from .common import normalise_text, read_report
from .report import KINDS, TOOLS, Report, ReportError


@dataclass(frozen=True)
class ParserEntry:
    tool: str
    kind: str
    modules: tuple[str, ...]  # module name(s) inside stochflow.parsers; the first present wins


REGISTRY: tuple[ParserEntry, ...] = (
    ParserEntry("vivado", "utilization", ("vivado_utilization",)),
    ParserEntry("vivado", "power", ("vivado_power",)),
    ParserEntry("vivado", "timing", ("vivado_timing",)),
    ParserEntry("vivado", "hls_csynth", ("vivado_hls", "vivado_hls_csynth")),
    ParserEntry("quartus", "fit_summary", ("quartus_fit_summary",)),
    ParserEntry("quartus", "fit_rpt", ("quartus_fit_rpt",)),
    ParserEntry("quartus", "map_summary", ("quartus_map_summary",)),
    ParserEntry("quartus", "sta_summary", ("quartus_sta_summary",)),
    ParserEntry("quartus", "pow_summary", ("quartus_pow_summary",)),
    ParserEntry("yosys", "stat", ("yosys_stat",)),
    ParserEntry("nextpnr", "pnr_log", ("nextpnr_log",)),
    ParserEntry("nextpnr", "pnr_report", ("nextpnr_report",)),
    ParserEntry("icetime", "icetime", ("icetime",)),
)

# What a slot in the flow asks for, by role; a kind serves the roles it states numbers for.
ROLES: dict[str, frozenset[str]] = {
    "utilization": frozenset(
        {"utilization", "fit_summary", "fit_rpt", "map_summary", "stat", "pnr_log", "pnr_report"}
    ),
    "power": frozenset({"power", "pow_summary"}),
    "timing": frozenset({"timing", "sta_summary", "pnr_log", "pnr_report", "icetime"}),
    "hls": frozenset({"hls_csynth"}),
}


@cache
def _module(entry: ParserEntry) -> ModuleType | None:
    """The parser module, or None while none of its names exists yet (kinds added later)."""
    for module in entry.modules:
        name = f"{__package__}.{module}"
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    return None


def available() -> list[ParserEntry]:
    """Registered kinds whose parser module is installed."""
    return [entry for entry in REGISTRY if _module(entry) is not None]


def _describe(entries: Iterable[ParserEntry]) -> str:
    return ", ".join(f"{entry.tool} {entry.kind}" for entry in entries)


def detect(text: str) -> tuple[str, str]:
    """``(tool, kind)`` of a report, from its content alone; unknown or ambiguous is an error."""
    text = normalise_text(text)
    entries = available()
    matches = [entry for entry in entries if _module(entry).looks_like(text)]  # type: ignore[union-attr]
    if len(matches) == 1:
        return matches[0].tool, matches[0].kind
    if not matches:
        raise ReportError(
            "not a report this parser knows", expected=f"one of: {_describe(entries)}"
        )
    raise ReportError(
        f"ambiguous report: it looks like {_describe(matches)}",
        expected="a single report per file, or an explicit kind",
    )


def _entry(kind: str | None, tool: str | None) -> ParserEntry:
    if kind is not None and kind not in KINDS:
        raise ReportError(f"unknown report kind {kind!r}", expected=", ".join(KINDS))
    if tool is not None and tool not in TOOLS:
        raise ReportError(f"unknown tool {tool!r}", expected=", ".join(TOOLS))
    candidates = [
        entry
        for entry in REGISTRY
        if (kind is None or entry.kind == kind) and (tool is None or entry.tool == tool)
    ]
    if len(candidates) != 1:
        raise ReportError(
            f"no single parser for tool={tool} kind={kind}",
            expected=f"one of: {_describe(REGISTRY)}",
        )
    return candidates[0]


def parse_text(
    text: str, *, file: str | None = None, kind: str | None = None, tool: str | None = None
) -> Report:
    """Parse a report's text. ``kind``/``tool`` force the parser but are checked against the text."""
    text = normalise_text(text)
    if kind is None:
        try:
            found_tool, found_kind = detect(text)
        except ReportError as error:
            raise (error.in_file(file) if file else error) from None
        if tool is not None and found_tool != tool:
            raise ReportError(
                f"this is a {found_tool} {found_kind} report, not a {tool} report",
                file=file,
                expected=f"a {tool} report",
            )
        entry = _entry(found_kind, found_tool)
    else:
        entry = _entry(kind, tool)
        module = _module(entry)
        if module is None:
            raise ReportError(f"no parser for {entry.tool} {entry.kind} is installed", file=file)
        if not module.looks_like(text):
            try:
                hint = "; it looks like {} {}".format(*detect(text))
            except ReportError:
                hint = ""
            raise ReportError(
                f"this is not a {entry.tool} {entry.kind} report{hint}",
                file=file,
                expected=f"a {entry.tool} {entry.kind} report",
            )
    module = _module(entry)
    assert module is not None
    try:
        report: Report = module.parse(text, file=file)
    except ReportError as error:
        raise (error if error.file or not file else error.in_file(file)) from None
    if (report.tool, report.kind) != (entry.tool, entry.kind):  # pragma: no cover - parser bug
        raise ReportError(
            f"parser for {entry.tool} {entry.kind} returned a {report.tool} {report.kind}",
            file=file,
        )
    return report


def parse_file(path: str | Path, *, kind: str | None = None, tool: str | None = None) -> Report:
    """Parse one report file; the report carries the file name and the sha256 of its bytes."""
    source = read_report(path)
    report = parse_text(source.text, file=source.file, kind=kind, tool=tool)
    report.file, report.sha256 = source.file, source.sha256
    return report


def parse_files(
    paths: Sequence[str | Path], *, kind: str | None = None, tool: str | None = None
) -> list[Report]:
    """Parse the reports of one design: two reports of the same tool and kind are an error."""
    reports = [parse_file(path, kind=kind, tool=tool) for path in paths]
    seen: dict[tuple[str, str], Report] = {}
    for report in reports:
        key = (report.tool, report.kind)
        if key in seen:
            raise ReportError(
                f"two {report.tool} {report.kind} reports for one design: "
                f"{seen[key].file} and {report.file}",
                file=report.file,
                expected=f"one {report.tool} {report.kind} report per design",
            )
        seen[key] = report
    return reports


def check_slot(report: Report, expected_kind: str, expected_tool: str | None = None) -> None:
    """Refuse a report given where another kind (or another tool's report) was declared.

    ``expected_kind`` is a report kind (``pow_summary``) or a role (``utilization``,
    ``power``, ``timing``, ``hls``) that several kinds can fill.
    """
    if expected_kind not in KINDS and expected_kind not in ROLES:
        raise ReportError(f"unknown slot {expected_kind!r}", expected=", ".join([*ROLES, *KINDS]))
    fits_kind = report.kind == expected_kind or report.kind in ROLES.get(expected_kind, ())
    fits_tool = expected_tool is None or report.tool == expected_tool
    if fits_kind and fits_tool:
        return
    wanted = f"a {expected_tool + ' ' if expected_tool else ''}{expected_kind} report"
    raise ReportError(
        f"a {report.tool} {report.kind} report was given where {wanted} was declared",
        file=report.file,
        expected=wanted,
    )
