"""JSON documents with positions: duplicate keys rejected, every value locatable.

``json.loads`` silently keeps the last of two equal keys and forgets where a value
stood; a report checker needs both (a duplicated ``"used"`` is a corrupt report, and a
count that exceeds its capacity should be reported at its line).
"""

from __future__ import annotations

import json
import math
from typing import Any

from lark import Token, Transformer
from lark.exceptions import VisitError

from .lark_support import grammar, parse_tree
from .report import ReportError


class JsonObject(dict):  # type: ignore[type-arg]
    """A JSON object that remembers where it and each of its keys stood."""

    line: int | None = None
    column: int | None = None
    key_lines: dict[str, int]

    def __init__(self) -> None:
        super().__init__()
        self.key_lines = {}


class JsonArray(list):  # type: ignore[type-arg]
    line: int | None = None
    column: int | None = None


class _ToValues(Transformer):  # type: ignore[type-arg]
    """Applied while parsing (no tree is built); errors get their file attached afterwards."""

    file: str | None = None

    def string(self, children: list[Token]) -> str:
        return json.loads(children[0])

    def number(self, children: list[Token]) -> int | float:
        value = json.loads(children[0])
        if isinstance(value, float) and not math.isfinite(value):
            token = children[0]
            raise ReportError(
                f"number {token} out of range", file=self.file, line=token.line, column=token.column
            )
        return value

    def true(self, _: list[Any]) -> bool:
        return True

    def false(self, _: list[Any]) -> bool:
        return False

    def null(self, _: list[Any]) -> None:
        return None

    def pair(self, children: list[Any]) -> tuple[str, Any, int]:
        key_token, value = children
        return json.loads(key_token), value, key_token.line

    def object(self, children: list[Any]) -> JsonObject:
        brace, *pairs = children
        result = JsonObject()
        result.line, result.column = brace.line, brace.column
        for key, value, line in pairs:
            if key in result:
                raise ReportError(
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                    file=self.file,
                    line=line,
                    expected="each key once per object",
                )
            result[key] = value
            result.key_lines[key] = line
        return result

    def array(self, children: list[Any]) -> JsonArray:
        bracket, *values = children
        result = JsonArray(values)
        result.line, result.column = bracket.line, bracket.column
        return result


_TRANSFORMER = _ToValues()


def parse_json(text: str, file: str | None = None, *, what: str = "JSON") -> Any:
    """Parse ``text`` as one JSON document; syntax errors name line, column and expectation."""
    parser = grammar("json_document", transformer=_TRANSFORMER)
    try:
        value = parse_tree(parser, text, file, what)
    except ReportError as error:
        raise error if error.file else error.in_file(file or "<report>") from None
    except VisitError as error:  # pragma: no cover - Lark wraps errors raised in callbacks
        if isinstance(error.orig_exc, ReportError):
            raise error.orig_exc.in_file(file or "<report>") from None
        raise
    if isinstance(value, Token):  # a bare scalar document
        return json.loads(value)
    return value
