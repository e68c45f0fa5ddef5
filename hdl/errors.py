"""Errors raised for bad network specifications.

A spec error names where the problem is (file and dotted field path) and what was
expected, so the CLI can print it as one line and exit 2.
"""

from __future__ import annotations


class SpecError(ValueError):
    """A network or layer specification that cannot be built as asked."""

    def __init__(self, field: str, message: str, *, source: str | None = None) -> None:
        self.field = field
        self.message = message
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.field}: {self.message}"

    def with_source(self, source: str) -> SpecError:
        """The same error, attributed to a file."""
        return SpecError(self.field, self.message, source=source)

    def under(self, prefix: str) -> SpecError:
        """The same error with its field path nested under ``prefix``."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return SpecError(field, self.message, source=self.source)
