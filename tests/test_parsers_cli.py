"""``stochflow parse``: JSON and table output, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.parsers.common import read_report

FIT = "quartus/fit_summary/agat-9__top.fit.summary"
ICETIME = "icetime/report/riscv-vt52__hardware.rpt"


def test_json_one_file(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--json", str(corpus / FIT)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "fit_summary" and data["file"] == str(corpus / FIT)
    assert data["resources"]["le"] == {"used": 5766, "available": 15408}


def test_json_several_files_is_a_list(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--json", str(corpus / FIT), str(corpus / ICETIME)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [item["kind"] for item in data] == ["fit_summary", "icetime"]
    assert data[1]["timing"] == {"fmax_mhz": 74.21, "critical_path_ns": 13.47}


def test_table_output(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(corpus / FIT)]) == 0
    out = capsys.readouterr().out
    assert "resource le" in out and "5,766 / 15,408" in out and "EP4CE15F23C8" in out


def test_bad_report_exits_1_with_location(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "top.fit.summary"
    bad.write_text(read_report(corpus / FIT).text.replace("88 / 344", "88 / 34x"))
    assert main(["parse", "--json", str(bad), str(corpus / ICETIME)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:12:21:" in captured.err and "expected" in captured.err
    assert [item["kind"] for item in json.loads(captured.out)] == ["icetime"]


def test_forced_kind_mismatch_exits_1(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--kind", "pow_summary", str(corpus / FIT)]) == 1
    assert "not a quartus pow_summary report" in capsys.readouterr().err


def test_usage_errors_exit_2(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(corpus / "does-not-exist.rpt")]) == 2
    assert "no such report file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["parse", "--kind", "bitstream", str(corpus / FIT)])
    assert caught.value.code == 2
