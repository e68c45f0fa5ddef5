"""Every corpus report of the Quartus/Yosys/nextpnr/icetime kinds parses, and every
corpus report (all tools) is detected as the kind its folder says."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from conftest import corpus_dir
from stochflow.parsers import detect, parse_file
from stochflow.parsers.api import REGISTRY
from stochflow.parsers.common import read_report
from test_parsers_helpers import CORPUS_KINDS, VIVADO_KINDS, corpus_files

CORPUS = corpus_dir()


def _cases(folders: dict[str, tuple[str, str]]) -> list[object]:
    if CORPUS is None:
        return [pytest.param(None, "", "", marks=pytest.mark.skip(reason="corpus not present"))]
    return [
        pytest.param(path, tool, kind, id=f"{path.parent.name}/{path.name}")
        for path, tool, kind in corpus_files(CORPUS, folders)
    ]


@pytest.mark.parametrize(("path", "tool", "kind"), _cases(CORPUS_KINDS))
def test_corpus_report_parses(path: Path, tool: str, kind: str) -> None:
    report = parse_file(path)
    assert (report.tool, report.kind) == (tool, kind)
    assert report.file == str(path)
    assert report.sha256 is not None and len(report.sha256) == 64
    if report.status == "failed":  # a failed run states no figures
        assert not report.resources and report.timing is None and report.power is None


@pytest.mark.parametrize(("path", "tool", "kind"), _cases(CORPUS_KINDS))
def test_corpus_report_kind_is_detected(path: Path, tool: str, kind: str) -> None:
    assert detect(read_report(path).text) == (tool, kind)


def _vivado_module_present(kind: str) -> bool:
    entry = next(entry for entry in REGISTRY if entry.tool == "vivado" and entry.kind == kind)
    for name in entry.modules:
        try:
            importlib.import_module(f"stochflow.parsers.{name}")
            return True
        except ModuleNotFoundError:
            continue
    return False


@pytest.mark.parametrize(("path", "tool", "kind"), _cases(VIVADO_KINDS))
def test_corpus_vivado_report_kind_is_detected(path: Path, tool: str, kind: str) -> None:
    if not _vivado_module_present(kind):
        pytest.skip(f"the vivado {kind} parser module is not in this checkout")
    assert detect(read_report(path).text) == (tool, kind)


def test_corpus_covers_every_kind_of_these_tools(corpus: Path) -> None:
    counts: dict[tuple[str, str], int] = {}
    for _, tool, kind in corpus_files(corpus, CORPUS_KINDS):
        counts[(tool, kind)] = counts.get((tool, kind), 0) + 1
    assert counts == {
        ("quartus", "fit_summary"): 21,
        ("quartus", "map_summary"): 16,
        ("quartus", "pow_summary"): 10,
        ("quartus", "sta_summary"): 16,
        ("quartus", "fit_rpt"): 12,
        ("yosys", "stat"): 15,
        ("nextpnr", "pnr_log"): 9,
        ("nextpnr", "pnr_report"): 1,
        ("icetime", "icetime"): 5,
    }
