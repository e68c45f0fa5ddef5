"""What Quartus summary keys mean: canonical resources, power, status, checks.

One table of meanings for every Quartus summary (file or fit.rpt table), so that a
"Total registers" or an "Embedded Multiplier 9-bit elements" line is read the same way
everywhere, and the digits inside a key ("9-bit") can never be taken for a count.
"""

from __future__ import annotations

import math

from .common import check_used_available, watts
from .lark_support import tidy
from .quartus_summary import Quantity, SummaryEntries
from .report import Power, Report, ReportError, ResourceCount

# Summary key -> canonical resource name (surrogate.observation.CANONICAL_RESOURCES).
CANONICAL_KEYS: dict[str, str] = {
    "Total logic elements": "le",
    "Logic utilization (in ALMs)": "alm",
    "Total registers": "ff",
    "Total pins": "io",
    "Total memory bits": "memory_bits",
    "Total block memory bits": "memory_bits",
    "Total DSP Blocks": "dsp",
    "Embedded Multiplier 9-bit elements": "dsp",
    "Total PLLs": "pll",
}
# Quartus Prime Pro states registers only as "Total dedicated logic registers".
FALLBACK_KEYS: dict[str, str] = {"Total dedicated logic registers": "ff"}

POWER_KEYS: dict[str, str] = {
    "Total Thermal Power Dissipation": "total_w",
    "Core Dynamic Thermal Power Dissipation": "dynamic_w",
    "Core Static Thermal Power Dissipation": "static_w",
    "I/O Thermal Power Dissipation": "io_w",
}
# Quartus' total is the sum of these three, each rounded to 0.01 mW.
_POWER_SUM_TOLERANCE_W = 0.025e-3

STATUS_KEYS: dict[str, frozenset[str]] = {
    "fit_summary": frozenset({"Fitter Status"}),
    "fit_rpt": frozenset({"Fitter Status"}),
    "map_summary": frozenset(
        {"Analysis & Synthesis Status", "Analysis & Elaboration Status", "Synthesis Status"}
    ),
    "pow_summary": frozenset({"Power Analyzer Status", "PowerPlay Power Analyzer Status"}),
}


def check_status_key(entries: SummaryEntries, kind: str, file: str | None) -> None:
    allowed = STATUS_KEYS[kind]
    if entries.status_key not in allowed:
        raise ReportError(
            f"a {kind} starts with {entries.status_key!r}",
            file=file,
            line=entries.status_line,
            expected=" or ".join(repr(key) for key in sorted(allowed)),
        )


def base_report(entries: SummaryEntries, kind: str, file: str | None) -> Report:
    """The fields every Quartus summary states: version, device, design, status."""
    report = Report(tool="quartus", kind=kind, file=file)  # type: ignore[arg-type]
    if entries.version is not None:
        report.tool_version = f"{entries.version_product} {entries.version}"
    if "Device" in entries.texts:
        report.device = entries.texts["Device"][0]
    if "Top-level Entity Name" in entries.texts:
        report.design = entries.texts["Top-level Entity Name"][0]
    report.status = "failed" if entries.failed else "ok"
    report.status_text = entries.status_text
    return report


def resources(entries: SummaryEntries, kind: str, file: str | None) -> dict[str, ResourceCount]:
    """Every stated count, canonical names first; N/A lines are absent, never zero."""
    result: dict[str, ResourceCount] = {}
    sources: dict[str, str] = {}
    for key, quantity in entries.quantities.items():
        if quantity.form == "power":
            raise ReportError(
                f"{key!r} states a power in a {kind}",
                file=file,
                line=quantity.line,
                expected="a count or 'used / available ( p % )'",
            )
        if quantity.form == "absent":
            continue
        _check_fraction(key, quantity, file)
        name = CANONICAL_KEYS.get(key, key)
        if name in sources:
            raise ReportError(
                f"{key!r} and {sources[name]!r} both state {name}",
                file=file,
                line=quantity.line,
                expected="one line per resource",
            )
        sources[name] = key
        result[name] = ResourceCount(used=quantity.used, available=quantity.available)
    for key, name in FALLBACK_KEYS.items():
        if name not in result and key in result:
            result[name] = result.pop(key)
    return result


def _check_fraction(key: str, quantity: Quantity, file: str | None) -> None:
    check_used_available(
        key,
        quantity.used,
        quantity.available,
        None if quantity.percent is None else float(quantity.percent),
        tolerance=1.0,  # Quartus prints whole percent
        file=file,
        line=quantity.line,
    )
    if quantity.below_percent is not None:
        assert quantity.used is not None and quantity.available is not None
        actual = 100.0 * quantity.used / quantity.available if quantity.available else math.inf
        if not 0.0 < actual < quantity.below_percent:
            raise ReportError(
                f"{key}: stated < {quantity.below_percent}% disagrees with "
                f"{quantity.used}/{quantity.available} = {actual:.2f}%",
                file=file,
                line=quantity.line,
            )


def power(entries: SummaryEntries, file: str | None) -> Power:
    """Thermal power in watts; the total must be the sum of its three parts."""
    result = Power()
    lines: dict[str, int] = {}
    for key, quantity in entries.quantities.items():
        if quantity.form != "power":
            raise ReportError(
                f"{key!r} states {quantity.form} in a power summary",
                file=file,
                line=quantity.line,
                expected="a power such as '12.34 mW'",
            )
        if key not in POWER_KEYS:
            raise ReportError(
                f"unknown power line {key!r}",
                file=file,
                line=quantity.line,
                expected=", ".join(repr(k) for k in POWER_KEYS),
            )
        assert quantity.value is not None and quantity.unit is not None
        if quantity.value < 0:
            raise ReportError(
                f"{key}: negative power {quantity.value}", file=file, line=quantity.line
            )
        setattr(result, POWER_KEYS[key], tidy(watts(quantity.value, quantity.unit)))
        lines[POWER_KEYS[key]] = quantity.line
    parts = (result.dynamic_w, result.static_w, result.io_w)
    if result.total_w is not None and all(part is not None for part in parts):
        total = sum(part for part in parts if part is not None)
        if abs(total - result.total_w) > _POWER_SUM_TOLERANCE_W:
            raise ReportError(
                f"total power {result.total_w * 1e3:.2f} mW is not core dynamic + core static"
                f" + I/O = {total * 1e3:.2f} mW",
                file=file,
                line=lines["total_w"],
            )
    if "Power Estimation Confidence" in entries.texts:
        text, _ = entries.texts["Power Estimation Confidence"]
        result.confidence = text.split(":", 1)[0].strip()
    return result
