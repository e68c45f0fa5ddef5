"""``stochflow loop`` refuses bad input (exit 2) and reports infeasible budgets (exit 1)
before any tool runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "examples" / "tiny" / "network.toml")


def _loop(tmp_path: Path, *args: str) -> int:
    return main(["loop", TINY, "--target", "ice40-up5k", "--out", str(tmp_path / "loop"),
                 "--jobs", "1", *args])


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("luts=abc", "budget luts: expected a number"),
        ("flops=3", "budget key 'flops'"),
        ("luts=0", "expected a positive limit"),
        ("luts=400,luts=500", "given twice"),
        ("", "expected at least one"),
    ],
)
def test_bad_budget_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          budget: str, message: str) -> None:
    assert _loop(tmp_path, "--budget", budget) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "loop").exists()


def test_power_budget_without_a_power_model_exits_2(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["loop", TINY, "--target", "ice40-hx8k", "--budget", "power_mw=3",
                 "--out", str(tmp_path / "loop")])
    assert code == 2
    assert "power_mw on ice40-hx8k" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-builds", "0"], "--max-builds"),
        (["--confidence", "1.5"], "--confidence"),
        (["--clock-mhz", "-3"], "--clock-mhz"),
        (["--vectors", "0"], "--vectors"),
        (["--resume"], "nothing to resume"),
    ],
)
def test_bad_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             args: list[str], message: str) -> None:
    assert _loop(tmp_path, "--budget", "luts=400", *args) == 2
    assert message in capsys.readouterr().err


def test_missing_spec_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["loop", str(tmp_path / "none.toml"), "--target", "ice40-up5k",
                 "--budget", "luts=400", "--out", str(tmp_path / "loop")])
    assert code == 2
    assert "no such network spec" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("budget", "names"),
    [
        # Latency is exact: no L and folding reach 5 cycles.
        ("latency_cycles=5", "latency_cycles"),
        # The prior puts the smallest tiny design near 200 LUTs: far beyond what a
        # prior's error could explain, so no probe is built.
        ("luts=5", "luts"),
    ],
)
def test_infeasible_budget_exits_1_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], budget: str, names: str
) -> None:
    assert _loop(tmp_path, "--budget", budget) == 1
    out = capsys.readouterr().out
    assert "infeasible" in out and names in out
    report = json.loads((tmp_path / "loop" / "report.json").read_text())
    final = report["final"]
    assert final["stop_reason"] == "infeasible"
    assert final["within_budget"] is False and final["design"] is None
    assert names in final["message"]
    assert report["builds"] == 0
    assert not (tmp_path / "loop" / "designs").exists()  # nothing was generated or built
