"""Quartus ``*.map.summary`` / Pro ``*.syn.summary``: resources after synthesis (bare counts)."""

from __future__ import annotations

import re

from . import quartus_fields
from .quartus_summary import read_entries
from .report import Report

KIND = "map_summary"
_FIRST_LINE = re.compile(
    r"\A\s*(?:Analysis & Synthesis|Analysis & Elaboration|Synthesis) Status *: "
)


def looks_like(text: str) -> bool:
    return _FIRST_LINE.match(text[:200]) is not None


def parse(text: str, file: str | None = None) -> Report:
    entries = read_entries(text, file, "Quartus synthesis summary")
    quartus_fields.check_status_key(entries, KIND, file)
    report = quartus_fields.base_report(entries, KIND, file)
    if report.status != "failed":
        report.resources = quartus_fields.resources(entries, KIND, file)
    return report
