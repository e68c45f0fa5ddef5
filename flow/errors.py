"""Errors the CLI turns into exit codes: usage errors exit 2, failed work exits 1."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user (arguments, files, specs). The CLI prints one line, exits 2."""


class FlowError(RuntimeError):
    """Work that was attempted and failed (a tool, a mismatch). The CLI prints it, exits 1."""
