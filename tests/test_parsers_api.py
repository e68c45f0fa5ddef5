"""The registry API: detection, forced kinds, several files, report slots."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import ReportError, check_slot, detect, parse_file, parse_files, parse_text
from stochflow.parsers.common import read_report

FIT = "quartus/fit_summary/agat-9__top.fit.summary"
POW = "quartus/pow_summary/cpu-project__CPU.pow.summary"
STA = "quartus/sta_summary/agat-9__top.sta.summary"
NEXTPNR = "nextpnr/pnr_log/project-5__nextpnr.log"


def test_detect_unknown_lists_kinds() -> None:
    with pytest.raises(ReportError) as caught:
        detect("hello\nworld\n")
    assert "not a report" in caught.value.message
    assert caught.value.expected is not None and "quartus fit_summary" in caught.value.expected
    assert "icetime icetime" in caught.value.expected


def test_detect_ambiguous_names_both(corpus: Path) -> None:
    icetime = read_report(corpus / "icetime/report/riscv-vt52__hardware.rpt").text
    merged = "Info: Program finished normally.\n" + icetime  # nextpnr and icetime in one file
    with pytest.raises(ReportError, match="ambiguous") as caught:
        detect(merged)
    assert "nextpnr pnr_log" in caught.value.message and "icetime icetime" in caught.value.message


def test_crlf_is_normalised(corpus: Path) -> None:
    text = read_report(corpus / FIT).text
    assert parse_text(text.replace("\n", "\r\n")).resources == parse_text(text).resources


def test_forced_kind_is_checked(corpus: Path) -> None:
    text = read_report(corpus / POW).text
    assert parse_text(text, kind="pow_summary").kind == "pow_summary"
    with pytest.raises(ReportError) as caught:
        parse_text(text, kind="fit_summary", file="x.pow.summary")
    assert caught.value.file == "x.pow.summary"
    assert "not a quartus fit_summary" in caught.value.message
    assert "quartus pow_summary" in caught.value.message


def test_forced_tool_is_checked(corpus: Path) -> None:
    text = read_report(corpus / FIT).text
    assert parse_text(text, tool="quartus").kind == "fit_summary"
    with pytest.raises(ReportError, match="not a vivado report"):
        parse_text(text, tool="vivado")
    with pytest.raises(ReportError, match="no single parser"):
        parse_text(text, tool="vivado", kind="fit_summary")
    with pytest.raises(ReportError, match="unknown report kind"):
        parse_text(text, kind="bitstream")


def test_parse_file_sets_provenance(corpus: Path) -> None:
    report = parse_file(corpus / FIT)
    assert report.file == str(corpus / FIT)
    assert report.sha256 == "8446e393e6dcc8abda1ae99b450e815e56b552c63034abac674b06137a180d2e"


def test_parse_error_names_the_file(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "top.sta.summary"
    text = read_report(corpus / STA).text
    path.write_text(text.replace("Slack : -17.653", "Slack : -17.6x3"))
    with pytest.raises(ReportError) as caught:
        parse_file(path)
    assert caught.value.file == str(path)
    assert caught.value.line == 6 and caught.value.column is not None


def test_parse_files_one_design(corpus: Path) -> None:
    reports = parse_files([corpus / FIT, corpus / STA, corpus / POW])
    assert [report.kind for report in reports] == ["fit_summary", "sta_summary", "pow_summary"]
    with pytest.raises(ReportError, match="two quartus fit_summary reports") as caught:
        parse_files([corpus / FIT, corpus / "quartus/fit_summary/cpu-project__CPU.fit.summary"])
    assert str(corpus / FIT) in caught.value.message


def test_check_slot(corpus: Path) -> None:
    fit = parse_file(corpus / FIT)
    power = parse_file(corpus / POW)
    check_slot(fit, "utilization")
    check_slot(fit, "fit_summary", "quartus")
    check_slot(power, "power", "quartus")
    with pytest.raises(ReportError) as caught:
        check_slot(power, "utilization")
    assert "quartus pow_summary" in caught.value.message and "utilization" in caught.value.message
    with pytest.raises(ReportError, match="vivado utilization report was declared"):
        check_slot(fit, "utilization", "vivado")
    with pytest.raises(ReportError, match="unknown slot"):
        check_slot(fit, "bitstream")
    nextpnr = parse_file(corpus / NEXTPNR)
    check_slot(nextpnr, "utilization")
    check_slot(nextpnr, "timing")
