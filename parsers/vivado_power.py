"""Vivado ``report_power`` → :class:`Report` (kind ``power``).

Read from section ``1. Summary`` only: ``total_w`` = Total On-Chip Power, ``dynamic_w`` =
Dynamic, ``static_w`` = Device Static, ``junction_c`` = Junction Temperature,
``confidence`` = Confidence Level. Units come from the row labels (``(W)``) and are
normalised to watts. A total marked ``(Junction temp exceeded!)`` is still the stated
total. A missing or ``NA`` row leaves its field absent: the total is never rebuilt from
dynamic + static. When all three are stated they must agree (total = dynamic + static to
the printed precision), which catches a misread row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Token, Transformer

from .common import watts
from .report import Power, Report
from .vivado_common import (
    Header,
    VivadoHeaderMixin,
    check_toc,
    is_vivado_report,
    located,
    number_at,
    run_parser,
)

TITLE = "Power Report"


def looks_like(text: str) -> bool:
    """A Vivado report titled ``Power Report``."""
    return is_vivado_report(text, TITLE)


def parse(text: str, file: str | None = None) -> Report:
    """Parse a ``report_power`` text report; see the module docstring."""
    return run_parser("vivado_power", text, file, _Transform(file).transform, "Vivado power report")


class _Transform(VivadoHeaderMixin, Transformer):
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def watts(self, children: list[Any]) -> Token | None:
        return children[0] if children[0].type == "NUMBER" else None

    def temperature(self, children: list[Any]) -> Token | None:
        return children[0] if children[0].type == "NUMBER" else None

    def _power_row(self, field: str, children: list[Any]) -> tuple[str, Token, Any]:
        key, unit, value = children
        if value is None:
            return (field, key, None)
        try:
            amount = watts(float(number_at(value, str(key))), str(unit))
        except ValueError as error:
            raise located(unit, str(error), "W") from None
        if amount < 0:
            raise located(value, f"{key}: negative power {value}", "a power ≥ 0")
        return (field, key, (amount, value))

    def total_on_chip(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._power_row("total_w", children)

    def dynamic(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._power_row("dynamic_w", children)

    def device_static(self, children: list[Any]) -> tuple[str, Token, Any]:
        return self._power_row("static_w", children)

    def junction(self, children: list[Any]) -> tuple[str, Token, Any]:
        key, unit, value = children
        if str(unit) != "C":
            raise located(unit, f"junction temperature unit {str(unit)!r}", "C")
        return ("junction_c", key, None if value is None else (float(str(value)), value))

    def confidence(self, children: list[Any]) -> tuple[str, Token, Any]:
        key, level = children
        return ("confidence", key, (str(level), level))

    def other_row(self, children: list[Any]) -> None:
        return None

    def summary_table(self, children: list[Any]) -> Power:
        power = Power()
        stated: dict[str, Token] = {}
        for item in children:
            if not isinstance(item, tuple):
                continue
            field, key, value = item
            if field in stated:
                raise located(key, f"summary row {str(key)!r} appears twice")
            stated[field] = key
            if value is not None:
                setattr(power, field, value[0])
                stated[field] = value[1]
        _check_sum(power, stated)
        return power

    def summary_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return ("summary", children[0], children[-1])

    def other_section(self, children: list[Any]) -> tuple[str, Token, Any]:
        return ("other", children[0], None)

    def toc(self, children: list[Token]) -> list[Token]:
        return [child for child in children if child.type == "TOC_ENTRY"]

    def start(self, children: list[Any]) -> Report:
        header: Header = children[0]
        toc: list[Token] = next(c for c in children if isinstance(c, list))
        sections = [child for child in children if isinstance(child, tuple)]
        check_toc(toc, [title for _kind, title, _value in sections])
        summaries = [value for kind, _title, value in sections if kind == "summary"]
        if len(summaries) != 1:
            raise located(sections[0][1], "expected exactly one '1. Summary' section")
        return Report(
            tool="vivado",
            kind="power",
            file=self.file,
            tool_version=header.tool_version,
            device=header.device,
            design=header.design,
            power=summaries[0],
        )


def _check_sum(power: Power, stated: dict[str, Token]) -> None:
    """Total On-Chip = Dynamic + Device Static, within the rounding of the printed digits."""
    if power.total_w is None or power.dynamic_w is None or power.static_w is None:
        return
    tokens = [stated["total_w"], stated["dynamic_w"], stated["static_w"]]
    slack = sum(
        Decimal(5) * Decimal(10) ** (Decimal(str(tok)).as_tuple().exponent - 1) for tok in tokens
    )
    if abs(power.total_w - (power.dynamic_w + power.static_w)) > float(slack) + 1e-12:
        raise located(
            stated["total_w"],
            f"Total On-Chip Power {power.total_w} W is not Dynamic {power.dynamic_w} W"
            f" + Device Static {power.static_w} W",
        )
