"""Shared pieces of the Vivado parser tests: which module reads which corpus folder, and
how a real report is turned into a deliberately broken one (a mutation of a real file,
never a hand-typed report)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from stochflow.parsers import (
    vivado_hls_csynth,
    vivado_power,
    vivado_timing,
    vivado_utilization,
)
from stochflow.parsers.common import read_report

# corpus folder under vivado/ → the module that must read every file in it
FOLDERS: dict[str, ModuleType] = {
    "utilization": vivado_utilization,
    "utilization_hier": vivado_utilization,
    "utilization_synth": vivado_utilization,
    "power": vivado_power,
    "timing": vivado_timing,
    "hls_csynth": vivado_hls_csynth,
}

MODULES: tuple[ModuleType, ...] = (
    vivado_utilization,
    vivado_power,
    vivado_timing,
    vivado_hls_csynth,
)


def corpus_files(corpus: Path, folder: str) -> list[Path]:
    files = sorted(path for path in (corpus / "vivado" / folder).iterdir() if path.is_file())
    assert files, f"corpus folder vivado/{folder} is empty"
    return files


def real_text(corpus: Path, relative: str) -> str:
    """A corpus report's text as the parsers see it (line ends normalised)."""
    return read_report(corpus / "vivado" / relative).text


def mutated(corpus: Path, relative: str, old: str, new: str) -> str:
    """The real report with exactly one occurrence of ``old`` replaced by ``new``."""
    text = real_text(corpus, relative)
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {relative}"
    return text.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    """1-based line number of the line holding ``fragment`` (which must occur once)."""
    assert text.count(fragment) == 1, f"{fragment!r} occurs {text.count(fragment)} times"
    return text[: text.index(fragment)].count("\n") + 1
