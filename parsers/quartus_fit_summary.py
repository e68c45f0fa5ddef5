"""Quartus ``*.fit.summary``: device resources after fitting (LEs/ALMs, registers, pins, …)."""

from __future__ import annotations

import re

from . import quartus_fields
from .quartus_summary import read_entries
from .report import Report

KIND = "fit_summary"
_FIRST_LINE = re.compile(r"\A\s*Fitter Status *: ")


def looks_like(text: str) -> bool:
    return _FIRST_LINE.match(text[:200]) is not None


def parse(text: str, file: str | None = None) -> Report:
    entries = read_entries(text, file, "Quartus fit summary")
    return report_from_entries(entries, KIND, file)


def report_from_entries(entries, kind: str, file: str | None) -> Report:  # type: ignore[no-untyped-def]
    """A fit report from summary entries (shared with the Fitter Summary table of fit.rpt)."""
    quartus_fields.check_status_key(entries, kind, file)
    report = quartus_fields.base_report(entries, kind, file)
    if report.status != "failed":
        report.resources = quartus_fields.resources(entries, kind, file)
    return report
