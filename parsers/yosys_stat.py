"""Yosys ``stat``: cell counts by type, from a log, a tee'd stat file or ``stat -json``.

A log can hold several statistics sections (inside ``synth_*`` and after it); the last
one is the design as written out. A log that ends in ``ERROR:`` is a failed run and
states no numbers; a log cut short (no ``End of script.``) is refused, since its last
statistics may be an intermediate step's.
"""

from __future__ import annotations

import re

from .report import Report, ReportError
from .yosys_stat_json import looks_like_json, read_json
from .yosys_stat_model import StatBlock, design_totals, fill_report
from .yosys_stat_text import read_log

KIND = "stat"
_STAT_HEADER = re.compile(r"^\d+(?:\.\d+)*\. Printing statistics\.", re.MULTILINE)
_BANNER = re.compile(r"\A\s*(?:/-{20,}\\|Yosys \d)")
_LOG_START = re.compile(r"\A\s*-- (?:Running command|Executing script file) ")


def looks_like(text: str) -> bool:
    if looks_like_json(text):
        return True
    head = text[:3000]
    if _BANNER.match(head) or "yosys -- Yosys Open SYnthesis Suite" in head:
        return True  # a Yosys log: its statistics, or the error that stopped the run
    if _LOG_START.match(head) and _STAT_HEADER.search(text):
        return True  # a log without the banner (yosys -Q)
    # a tee'd statistics file: starts with the section header
    return re.match(r"\A\s*\d+(?:\.\d+)*\. Printing statistics\.", head) is not None


def parse(text: str, file: str | None = None) -> Report:
    report = Report(tool="yosys", kind=KIND, file=file)
    if looks_like_json(text):
        creator, block = read_json(text, file)
        report.tool_version = creator
        fill_report(report, design_totals(block, file))
        return report
    facts = read_log(text, file)
    report.tool_version = facts.version
    if facts.error is not None:
        report.status, report.status_text = "failed", facts.error
        return report
    if facts.finished:
        report.status, report.status_text = "ok", "End of script"
    elif facts.version is None and not re.search(r"\n[ \t]*\n\s*\Z", text):
        # stat ends its output with a blank line; a file cut short at a module boundary
        # would otherwise pass for a design without that module
        raise ReportError(
            "the statistics end without the blank line Yosys writes after them",
            file=file,
            line=text.count("\n") + 1,
            expected="a complete tee'd stat output",
        )
    elif facts.version is not None:
        raise ReportError(
            "the Yosys log ends before 'End of script.': the run did not finish, so its "
            "last statistics need not be the design's",
            file=file,
            line=text.count("\n") + 1,
            expected="a complete log (or a tee'd stat file, or stat -json output)",
        )
    if not facts.blocks:
        raise ReportError(
            "no statistics in this Yosys output",
            file=file,
            expected="a 'Printing statistics.' section or stat -json output",
        )
    line, last = facts.blocks[-1]
    block: StatBlock
    if isinstance(last, str):
        creator, block = read_json(last, file, line_offset=line - 1)
        report.tool_version = report.tool_version or creator
    else:
        block = last
    fill_report(report, design_totals(block, file))
    return report
