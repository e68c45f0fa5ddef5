"""Inputs of a build are checked before any tool runs: manifest fields, names, RTL hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.design_file import load_design, validate_clock_mhz
from stochflow.flow.errors import UsageError
from stochflow.flow.synth import build
from stochflow.flow.targets import known_targets
from test_flow_synth_helpers import LFSR_COUNTER_V, handwritten_design


@pytest.fixture
def design(tmp_path: Path) -> Path:
    return handwritten_design(tmp_path / "design", LFSR_COUNTER_V)


def _edit(path: Path, **changes: object) -> Path:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return path


def test_a_valid_manifest_names_top_sources_and_latency(design: Path) -> None:
    loaded = load_design(design)
    assert loaded.top == "sc_board"
    assert [source.name for source in loaded.sources] == ["sc_board.v"]
    assert loaded.latency_cycles == 257
    assert loaded.clock_port == "clk"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("top", "sc_board; rm -rf /", "top: expected a Verilog module name"),
        ("top", "-abc9", "top: expected a Verilog module name"),
        ("name", "../escape", "name: expected a design name"),
        ("rtl", {"file": "../sc_board.v", "sha256": "0" * 64}, "rtl.file: expected a bare .v/.sv"),
        ("rtl", {"file": "/etc/passwd.v", "sha256": "0" * 64}, "rtl.file: expected a bare .v/.sv"),
        ("rtl", {"file": "missing.v", "sha256": "0" * 64}, "missing.v does not exist"),
        ("design_hash", "xyz", "design_hash: expected a 64-digit"),
        ("latency_cycles", 0, "latency_cycles: expected an integer ≥ 1"),
        ("latency_cycles", True, "latency_cycles: expected an integer ≥ 1"),
        ("schema", "stochflow.design/9", "schema: expected 'stochflow.design/1'"),
        ("layers", "hidden", "layers: expected a list"),
    ],
)
def test_bad_manifest_fields_are_named(design: Path, field: str, value: object, expected: str) -> None:
    _edit(design, **{field: value})
    with pytest.raises(UsageError) as caught:
        load_design(design)
    assert str(design) in str(caught.value)
    assert expected in str(caught.value)


def test_rtl_changed_after_the_manifest_is_refused(design: Path) -> None:
    rtl = design.parent / "sc_board.v"
    rtl.write_text(rtl.read_text() + "// edited\n")
    with pytest.raises(UsageError, match=r"rtl\.sha256: sc_board\.v hashes to .* regenerate"):
        load_design(design)


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "design.json"
    path.write_text('{"schema": "stochflow.design/1",\n  "name": }')
    with pytest.raises(UsageError, match=r"design\.json:2:11: not valid JSON"):
        load_design(path)


@pytest.mark.parametrize("value", [0, -5, float("nan"), float("inf"), 5000, "24", True])
def test_clock_must_be_a_sensible_frequency(value: object) -> None:
    with pytest.raises(UsageError, match="clock"):
        validate_clock_mhz(value)


def test_build_refuses_bad_input_before_running_tools(design: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="known targets"):
        build(design, "ice40-up9k", 24, tmp_path / "out")
    with pytest.raises(UsageError, match="built with vivado"):
        build(design, "xc7a35t", 24, tmp_path / "out")
    with pytest.raises(UsageError, match="step timeout"):
        build(design, "ice40-up5k", 24, tmp_path / "out", step_timeout_s=0)
    with pytest.raises(UsageError, match="activity power model"):
        build(design, "ice40-up5k", 24, tmp_path / "out", activity=design)
    assert not (tmp_path / "out").exists()


def test_cli_unknown_target_exits_2_listing_targets(
    design: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["synth", "--design", str(design), "--target", "nope", "--clock-mhz", "24", "--out", str(tmp_path / "o"), "--no-store"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown target 'nope'" in err
    for name in known_targets():
        assert name in err


def test_cli_bad_manifest_exits_2(design: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(design, top="a b")
    argv = ["synth", "--design", str(design), "--target", "ice40-up5k", "--clock-mhz", "24", "--out", str(tmp_path / "o"), "--no-store"]  # fmt: skip
    assert main(argv) == 2
    assert "top: expected a Verilog module name" in capsys.readouterr().err
