"""Running a grammar and its Transformer so that every failure is a located ReportError.

Lark wraps exceptions raised inside a Transformer in ``VisitError``; the report's own
``ReportError`` (with file, line, column, expectation) is what callers must see.
"""

from __future__ import annotations

from typing import Any

from lark import Lark, Token, Transformer, UnexpectedInput
from lark.exceptions import VisitError

from .common import lark_error, load_grammar
from .report import ReportError


def grammar(name: str, **options: object) -> Lark:
    """A compiled grammar of this package (cached). Transformers here read positions from
    tokens, so rule positions are not tracked (that costs a third of the parse time)."""
    return load_grammar(name, propagate_positions=False, **options)


def parse_tree(parser: Lark, text: str, file: str | None, context: str) -> Any:
    """``parser.parse(text)`` with syntax errors turned into ReportError."""
    try:
        return parser.parse(text)
    except UnexpectedInput as error:
        raise lark_error(error, file, context) from None


def transform(transformer: Transformer, tree: Any) -> Any:  # type: ignore[type-arg]
    """Apply ``transformer``; a ReportError raised inside it comes out unwrapped."""
    try:
        return transformer.transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, ReportError):
            raise error.orig_exc from None
        raise


def error_at(
    token: Token | Any,
    message: str,
    file: str | None,
    *,
    expected: str | None = None,
    line: int | None = None,
) -> ReportError:
    """A ReportError located at a token (or at ``line`` when given)."""
    return ReportError(
        message,
        file=file,
        line=line if line is not None else getattr(token, "line", None),
        column=None if line is not None else getattr(token, "column", None),
        expected=expected,
    )


def ensure_final_newline(text: str) -> str:
    """Line grammars end every line with ``\\n``; a file may lack the last one."""
    return text if text.endswith("\n") or not text else text + "\n"


def tidy(value: float) -> float:
    """A unit-converted value without binary noise (0.1481, not 0.14809999999999998)."""
    return float(f"{value:.12g}")
