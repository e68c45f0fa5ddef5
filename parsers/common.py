"""Helpers every report grammar shares: reading files, numbers, units, Lark errors.

Kept here so that a number, a unit or a percentage means the same thing in every
parser (a Vivado ``<0.01`` and a Quartus ``( < 1 % )`` are both "stated as tiny",
``N/A`` and ``-`` are both absent, never zero).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from lark import Lark, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .report import ReportError

ABSENT_TOKENS = frozenset({"N/A", "NA", "-", "--", "---", "n/a", "Unspecified*", "Unspecified"})

_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?$")

POWER_UNITS: dict[str, float] = {
    "W": 1.0,
    "mW": 1e-3,
    "uW": 1e-6,
    "µW": 1e-6,
    "μW": 1e-6,
    "nW": 1e-9,
}
TIME_UNITS: dict[str, float] = {"s": 1e9, "ms": 1e6, "us": 1e3, "µs": 1e3, "ns": 1.0, "ps": 1e-3}
FREQ_UNITS: dict[str, float] = {"Hz": 1e-6, "kHz": 1e-3, "KHz": 1e-3, "MHz": 1.0, "GHz": 1e3}


@dataclass(frozen=True)
class SourceText:
    """A report's text with line endings normalised, plus the facts provenance needs."""

    text: str
    file: str | None
    sha256: str


def read_report(path: str | Path) -> SourceText:
    """Read a report file: bytes hashed as stored, CRLF/CR → LF, BOM dropped."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ReportError(f"cannot read report: {error.strerror}", file=str(path)) from None
    return SourceText(
        text=normalise_text(raw), file=str(path), sha256=hashlib.sha256(raw).hexdigest()
    )


def normalise_text(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_absent(token: str) -> bool:
    return token.strip() in ABSENT_TOKENS


def parse_number(token: str, *, what: str = "number") -> int | float:
    """A signed decimal as printed (thousands separators allowed); keeps the sign.

    Integers stay ``int``; anything with a fraction or exponent is ``float``.
    Raises ValueError for anything else (callers turn it into a located ReportError).
    """
    text = token.strip()
    if not _NUMBER.match(text):
        raise ValueError(f"expected a {what}, got {token.strip()!r}")
    text = text.replace(",", "")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite {what}, got {token.strip()!r}")
    return value


def parse_int(token: str, *, what: str = "integer") -> int:
    value = parse_number(token, what=what)
    if isinstance(value, float):
        raise ValueError(f"expected an integer {what}, got {token.strip()!r}")
    return value


def to_unit(value: float, unit: str, table: dict[str, float], *, what: str) -> float:
    try:
        return value * table[unit]
    except KeyError:
        raise ValueError(
            f"unknown {what} unit {unit!r} (expected one of {', '.join(table)})"
        ) from None


def watts(value: float, unit: str) -> float:
    return to_unit(value, unit, POWER_UNITS, what="power")


def nanoseconds(value: float, unit: str) -> float:
    return to_unit(value, unit, TIME_UNITS, what="time")


def megahertz(value: float, unit: str) -> float:
    return to_unit(value, unit, FREQ_UNITS, what="frequency")


def check_used_available(
    name: str,
    used: float | None,
    available: float | None,
    percent: float | None,
    *,
    tolerance: float = 1.0,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
) -> None:
    """used ≤ available, and a stated percentage agrees with used/available.

    ``tolerance`` is in percentage points: tools round (Quartus to whole percent,
    Vivado to two decimals). ``percent`` of ``None`` means not stated.
    """
    if used is not None and used < 0:
        raise ReportError(
            f"{name}: negative used count {used}", file=file, line=line, column=column
        )
    if used is None or available is None:
        return
    if used > available:
        raise ReportError(
            f"{name}: used {used} exceeds available {available}",
            file=file,
            line=line,
            column=column,
        )
    if percent is not None and available > 0:
        actual = 100.0 * used / available
        if abs(actual - percent) > tolerance:
            raise ReportError(
                f"{name}: stated {percent}% disagrees with {used}/{available} = {actual:.2f}%",
                file=file,
                line=line,
                column=column,
            )


@cache
def load_grammar(
    name: str, *, start: str = "start", parser: str = "lalr", **options: object
) -> Lark:
    """Load ``<name>.lark`` shipped beside this module (cached: grammars compile once).

    Options override the defaults (e.g. ``propagate_positions=False`` where a Transformer
    takes positions from tokens and rule metadata would only cost time).
    """
    text = resources.files(__package__).joinpath(f"{name}.lark").read_text(encoding="utf-8")
    settings: dict[str, object] = {"propagate_positions": True, **options}
    return Lark(text, start=start, parser=parser, **settings)


def _clip(text: str, limit: int = 60) -> str:
    """A long token (a whole line) shortened for an error message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lark_error(error: UnexpectedInput, file: str | None, context: str = "") -> ReportError:
    """A Lark failure as a ReportError with line, column and what the grammar expected."""
    expected: str | None = None
    if isinstance(error, UnexpectedToken):
        names = sorted(error.accepts or error.expected or [])
        expected = ", ".join(names[:8]) + (" …" if len(names) > 8 else "") if names else None
        found = repr(_clip(error.token.value)) if error.token.type != "$END" else "end of file"
        message = f"unexpected {found}"
    elif isinstance(error, UnexpectedCharacters):
        names = sorted(error.allowed or [])
        expected = ", ".join(names[:8]) + (" …" if len(names) > 8 else "") if names else None
        message = f"unexpected text {error.char!r}"
    elif isinstance(error, UnexpectedEOF):
        names = sorted(error.expected or [])
        expected = ", ".join(names[:8]) if names else None
        message = "unexpected end of file"
    else:
        message = str(error)
    if context:
        message = f"{context}: {message}"
    return ReportError(
        message,
        file=file,
        line=getattr(error, "line", None),
        column=getattr(error, "column", None),
        expected=expected,
    )
