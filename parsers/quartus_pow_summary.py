"""Quartus ``*.pow.summary``: thermal power (total, core dynamic/static, I/O) and confidence."""

from __future__ import annotations

import re

from . import quartus_fields
from .quartus_summary import read_entries
from .report import Report

KIND = "pow_summary"
_FIRST_LINE = re.compile(r"\A\s*(?:PowerPlay )?Power Analyzer Status *: ")


def looks_like(text: str) -> bool:
    return _FIRST_LINE.match(text[:200]) is not None


def parse(text: str, file: str | None = None) -> Report:
    entries = read_entries(text, file, "Quartus power summary")
    quartus_fields.check_status_key(entries, KIND, file)
    report = quartus_fields.base_report(entries, KIND, file)
    if report.status != "failed":
        report.power = quartus_fields.power(entries, file)
    return report
