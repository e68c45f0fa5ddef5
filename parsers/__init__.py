"""Parsers: Lark grammars that read tool reports into typed report objects.

The entry points are :func:`detect`, :func:`parse_text`, :func:`parse_file`,
:func:`parse_files` and :func:`check_slot`; every failure is a :class:`ReportError`
naming file, line, column and what was expected.
"""

from .api import (
    REGISTRY,
    ROLES,
    ParserEntry,
    available,
    check_slot,
    detect,
    parse_file,
    parse_files,
    parse_text,
)
from .report import ClockTiming, Power, Report, ReportError, ResourceCount, Timing

__all__ = [
    "REGISTRY",
    "ROLES",
    "ClockTiming",
    "ParserEntry",
    "Power",
    "Report",
    "ReportError",
    "ResourceCount",
    "Timing",
    "available",
    "check_slot",
    "detect",
    "parse_file",
    "parse_files",
    "parse_text",
]
