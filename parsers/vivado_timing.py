"""Vivado ``report_timing_summary`` → :class:`Report` (kind ``timing``).

``wns_ns``, ``tns_ns``, ``whs_ns``, ``ths_ns`` are the Design Timing Summary values, signs
kept; ``NA`` leaves a value absent. ``constraints_met`` follows the verdict line: true for
"All user specified timing constraints are met.", false for "Timing constraints are not
met.", absent for "There are no user specified timing constraints.". The verdict must
agree with the numbers (a negative slack or a failing endpoint is not "met").

``clocks`` come from the Clock Summary table: name, ``period_ns`` and the constraint
frequency ``constraint_mhz`` as printed (generated clocks included).

No ``fmax_mhz`` is derived: the summary's WNS is the worst over every clock and path group
(inter-clock and asynchronous paths included), so 1000/(period − WNS) is not a stated
fact about any one clock. Fmax for the loop comes from nextpnr on open targets.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer

from .report import ClockTiming, Report, Timing
from .vivado_common import (
    Header,
    VivadoHeaderMixin,
    check_toc,
    is_vivado_report,
    located,
    number_at,
    run_parser,
)

TITLE = "Timing Summary Report"

_SUMMARY_COLUMNS = (
    "WNS(ns)",
    "TNS(ns)",
    "TNS Failing Endpoints",
    "TNS Total Endpoints",
    "WHS(ns)",
    "THS(ns)",
    "THS Failing Endpoints",
    "THS Total Endpoints",
    "WPWS(ns)",
    "TPWS(ns)",
    "TPWS Failing Endpoints",
    "TPWS Total Endpoints",
)


def looks_like(text: str) -> bool:
    """A Vivado report titled ``Timing Summary Report``."""
    return is_vivado_report(text, TITLE)


def parse(text: str, file: str | None = None) -> Report:
    """Parse a ``report_timing_summary`` text report; see the module docstring."""
    return run_parser(
        "vivado_timing", text, file, _Transform(file).transform, "Vivado timing summary"
    )


class _Transform(VivadoHeaderMixin, Transformer):
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def summary_values(self, children: list[Token]) -> dict[str, tuple[Any, Token]]:
        values: dict[str, tuple[Any, Token]] = {}
        for column, token in zip(_SUMMARY_COLUMNS, children, strict=True):
            value = None if str(token) == "NA" else number_at(token, column)
            values[column] = (value, token)
        return values

    def verdict(self, children: list[Token]) -> Token:
        return children[0]

    def design_summary(self, children: list[Any]) -> tuple[str, Any, Token]:
        values = next(child for child in children if isinstance(child, dict))
        verdict: Token = next(
            child
            for child in children
            if isinstance(child, Token) and child.type in ("MET", "NOT_MET", "NO_CONSTRAINTS")
        )
        return ("design_summary", _summary_timing(values, verdict), children[0])

    def clock(self, children: list[Token]) -> ClockTiming:
        name, _waveform, period, frequency = children
        period_ns = float(number_at(period, f"period of clock {name}"))
        frequency_mhz = float(number_at(frequency, f"frequency of clock {name}"))
        if period_ns <= 0:
            raise located(period, f"clock {name}: period {period_ns} ns", "a positive period")
        # Both are printed to three decimals: they agree within what that rounding moves.
        slack = 0.0005 + 1000.0 / period_ns**2 * 0.0005 + 1e-9
        if abs(1000.0 / period_ns - frequency_mhz) > slack:
            raise located(
                frequency,
                f"clock {name}: {frequency_mhz} MHz is not 1000/{period_ns} ns",
            )
        return ClockTiming(name=str(name), period_ns=period_ns, constraint_mhz=frequency_mhz)

    def clock_summary(self, children: list[Any]) -> tuple[str, Any, Token]:
        clocks = [child for child in children if isinstance(child, ClockTiming)]
        return ("clock_summary", clocks, children[0])

    def toc(self, children: list[Token]) -> list[Token]:
        return [child for child in children if child.type == "TOC_ENTRY"]

    def check_timing(self, children: list[Any]) -> tuple[str, Any, Token]:
        toc = next(child for child in children if isinstance(child, list))
        titles = [
            child.children[0] for child in children if getattr(child, "data", "") == "check_section"
        ]
        check_toc(toc, titles)
        return ("check_timing", None, children[0])

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        if data in _SECTION_ORDER:  # sections recognised, nothing read from them
            return (str(data), None, children[0])
        return super().__default__(data, children, meta)

    def start(self, children: list[Any]) -> Report:
        header: Header = children[0]
        title: Token = children[1]
        sections = [child for child in children if isinstance(child, tuple)]
        _check_order(title, sections)
        parts = {name: value for name, value, _banner in sections}
        timing: Timing = parts["design_summary"]
        timing.clocks = parts.get("clock_summary") or []
        return Report(
            tool="vivado",
            kind="timing",
            file=self.file,
            tool_version=header.tool_version,
            device=header.device,
            design=header.design,
            timing=timing,
        )


_SECTION_ORDER = (
    "timer_settings",
    "methodology",
    "check_timing",
    "design_summary",
    "clock_summary",
    "intra_clock",
    "inter_clock",
    "other_groups",
    "user_ignored",
    "unconstrained",
    "timing_details",
)


def _check_order(title: Token, sections: list[tuple[str, Any, Token]]) -> None:
    """Each section at most once, in Vivado's order, and the Design Timing Summary present."""
    last = -1
    for name, _value, banner in sections:
        rank = _SECTION_ORDER.index(name)
        if rank <= last:
            raise located(
                banner,
                f"section {name.replace('_', ' ')!r} repeated or out of order",
                f"sections in the order {', '.join(_SECTION_ORDER)}",
            )
        last = rank
    if "design_summary" not in {name for name, _value, _banner in sections}:
        raise located(title, "no Design Timing Summary section")


def _summary_timing(values: dict[str, tuple[Any, Token]], verdict: Token) -> Timing:
    """The Design Timing Summary as a Timing, after checking numbers and verdict agree."""

    def value(column: str) -> Any:
        return values[column][0]

    for slack, total, failing in (
        ("WNS(ns)", "TNS(ns)", "TNS Failing Endpoints"),
        ("WHS(ns)", "THS(ns)", "THS Failing Endpoints"),
        ("WPWS(ns)", "TPWS(ns)", "TPWS Failing Endpoints"),
    ):
        worst, summed, count = value(slack), value(total), value(failing)
        if summed is not None and summed > 0:
            raise located(values[total][1], f"{total} is positive ({summed})", "≤ 0")
        if worst is not None and count is not None and (worst < 0) != (count > 0):
            raise located(
                values[failing][1],
                f"{failing} = {count} disagrees with {slack} = {worst}",
            )
    failing_any = any(
        (value(column) or 0) > 0
        for column in ("TNS Failing Endpoints", "THS Failing Endpoints", "TPWS Failing Endpoints")
    ) or any((value(column) or 0) < 0 for column in ("WNS(ns)", "WHS(ns)", "WPWS(ns)"))
    if verdict.type == "MET":
        if failing_any:
            raise located(verdict, "verdict says met, but the summary has failing endpoints")
        met: bool | None = True
    elif verdict.type == "NOT_MET":
        stated = [value(column) for column in _SUMMARY_COLUMNS]
        if None not in stated and not failing_any:
            raise located(verdict, "verdict says not met, but no endpoint fails")
        met = False
    else:
        met = None
    timing = Timing(
        wns_ns=_float(value("WNS(ns)")),
        tns_ns=_float(value("TNS(ns)")),
        whs_ns=_float(value("WHS(ns)")),
        ths_ns=_float(value("THS(ns)")),
        constraints_met=met,
    )
    return timing


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
