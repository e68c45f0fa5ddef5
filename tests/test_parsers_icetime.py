"""icetime: critical path and Fmax, checked against the path itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import ReportError, parse_file, parse_text
from stochflow.parsers.common import read_report

REPORT = "icetime/report/riscv-vt52__hardware.rpt"


def test_values(corpus: Path) -> None:
    report = parse_file(corpus / REPORT)
    assert (report.tool, report.kind) == ("icetime", "icetime")
    assert report.timing is not None
    assert report.timing.critical_path_ns == 13.47
    assert report.timing.fmax_mhz == 74.21
    assert report.timing.constraints_met is None  # no constraint was checked


def test_all_corpus_values(corpus: Path) -> None:
    expected = {
        "comp300-cicd-p5__hardware.rpt": (66.81, 14.97),
        "project-5-570212e__hardware.rpt": (65.08, 15.37),
        "project-5-670e604__hardware.rpt": (68.45, 14.61),
        "project-5__hardware.rpt": (68.24, 14.65),
    }
    for name, (delay, fmax) in expected.items():
        timing = parse_file(corpus / "icetime/report" / name).timing
        assert timing is not None and (timing.critical_path_ns, timing.fmax_mhz) == (delay, fmax)


def test_changed_cell_delay_is_an_error(corpus: Path) -> None:
    text = read_report(corpus / REPORT).text
    broken = text.replace(
        "(LogicCell40) in0 -> lcout: 0.449 ns", "(LogicCell40) in0 -> lcout: 0.549 ns", 1
    )
    with pytest.raises(ReportError, match="cumulative"):
        parse_text(broken)


def test_total_must_be_the_path(corpus: Path) -> None:
    text = read_report(corpus / REPORT).text
    with pytest.raises(ReportError, match="differs from the path"):
        parse_text(
            text.replace(
                "Total path delay: 13.47 ns (74.21 MHz)", "Total path delay: 13.74 ns (72.78 MHz)"
            )
        )


def test_fmax_must_be_the_inverse(corpus: Path) -> None:
    text = read_report(corpus / REPORT).text
    with pytest.raises(ReportError, match="1000 /"):
        parse_text(text.replace("(74.21 MHz)", "(47.21 MHz)"))


def test_logic_levels_must_match(corpus: Path) -> None:
    text = read_report(corpus / REPORT).text
    with pytest.raises(ReportError, match="logic levels"):
        parse_text(
            text.replace("Total number of logic levels: 14", "Total number of logic levels: 41")
        )


def test_constraint_check_on_stdout(corpus: Path) -> None:
    text = read_report(corpus / REPORT).text
    passed = parse_text(text + "// Checking 83.33 ns (12.00 MHz) clock constraint: PASSED.\n")
    failed = parse_text(text + "// Checking 10.00 ns (100.00 MHz) clock constraint: FAILED.\n")
    assert passed.timing is not None and passed.timing.constraints_met is True
    assert failed.timing is not None and failed.timing.constraints_met is False
    with pytest.raises(ReportError, match="contradicts"):
        parse_text(text + "// Checking 10.00 ns (100.00 MHz) clock constraint: PASSED.\n")
