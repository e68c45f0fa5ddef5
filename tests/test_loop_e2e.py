"""The closed loop end to end on examples/tiny with the real tools (Amaranth, Verilator +
cocotb, Yosys, nextpnr): two rounds to a design measured within budget, a rerun that
builds nothing, an interrupted loop that resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.store import EvidenceStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "examples" / "tiny" / "network.toml")
# Latency binds (exactly known: L = 256 unfolded at most), LUTs and power leave room, so
# the first choice is already the best and the second round confirms it by measurement.
BUDGET = "luts=3000,power_mw=5,latency_cycles=300"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _args(out: Path, *extra: str) -> list[str]:
    return ["loop", TINY, "--target", "ice40-up5k", "--budget", BUDGET, "--out", str(out),
            "--max-builds", "2", "--explore", "0", "--vectors", "8", "--jobs", "2", *extra]


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("loop") / "tiny"
    assert main(_args(out)) == 0
    return out


def test_two_rounds_to_a_design_within_budget_by_measurement(converged: Path) -> None:
    report = json.loads((converged / "report.json").read_text())
    rounds = report["rounds"]
    assert [r["round"] for r in rounds] == [1, 2]
    first, second = rounds
    assert first["status"] == "built" and first["measured"] is not None
    assert second["design_hash"] == first["design_hash"] and second["stop"] == "converged"
    for entry in rounds:
        assert entry["choice"] and entry["layers"]
        assert set(entry["predicted"]) >= {"luts", "power_mw", "latency_cycles"}
        assert entry["predicted"]["luts"]["source"].startswith(("prior:ice40", "predicted:gp"))

    final = report["final"]
    assert final["stop_reason"] == "converged" and final["converged"] is True
    assert Path(final["design"]).is_file() and final["design"].endswith("design.json")
    measured = final["measured"]
    for key in ("luts", "power_mw", "latency_cycles", "fmax_mhz"):
        assert measured[key] is not None and measured[key] > 0
    assert measured["sources"]["luts"] == "tool:yosys"
    assert measured["sources"]["power_mw"] == "model:ice40-activity"
    assert measured["sources"]["latency_cycles"] == "design:latency"
    budget = report["budget"]
    assert final["budget"] == budget
    assert final["within_budget"] is True
    assert all(measured[key] <= limit for key, limit in budget.items())
    assert final["bit_exact"] is True and final["vectors_matched"] == final["vectors"] == 8
    # tiny names no dataset: its accuracy is not defined, and says so by being absent.
    assert final["accuracy"] is None and final["float_accuracy"] is None
    assert len(report["surrogate"]["lut_error_per_round"]) == 2
    assert report["wall_seconds"] > 0

    with EvidenceStore(converged / "evidence.sqlite") as store:
        stored = store.observations(design_hash=final["design_hash"])
    assert len(stored) == 1 and stored[0].power is not None

    html = (converged / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "## Final design" in (converged / "report.md").read_text()


def test_rerun_builds_nothing_already_measured(converged: Path) -> None:
    report = json.loads((converged / "report.json").read_text())
    build_record = Path(report["final"]["build_dir"]) / "build.json"
    activity = Path(report["final"]["activity"])
    stamps = (build_record.stat().st_mtime_ns, activity.stat().st_mtime_ns)

    assert main(_args(converged)) == 0
    again = json.loads((converged / "report.json").read_text())
    assert again["tool_builds"] == 0
    assert again["final"]["design_hash"] == report["final"]["design_hash"]
    assert (build_record.stat().st_mtime_ns, activity.stat().st_mtime_ns) == stamps

    assert main(_args(converged, "--resume")) == 0  # the journal says converged: done
    assert json.loads((converged / "report.json").read_text())["tool_builds"] == 0


def test_interrupted_loop_resumes_with_a_consistent_store(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    command = [sys.executable, "-m", "stochflow.flow.cli", *_args(out)]
    # SIGINT at its default even when this run inherited it ignored (a background job).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 300
    while not list(out.glob("designs/*/design.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # the build and the simulation are running now
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()

    with EvidenceStore(out / "evidence.sqlite") as store:  # readable, only whole records
        before = store.count()
    assert main(_args(out, "--resume")) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["final"]["within_budget"] is True
    with EvidenceStore(out / "evidence.sqlite") as store:
        hashes = [o.design_hash for o in store.observations()]
    assert len(hashes) == len(set(hashes)) >= max(before, 1)


def test_vendor_target_waits_for_its_build_and_says_how(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a7"
    args = ["loop", TINY, "--target", "xc7a35t", "--budget", "luts=2000,latency_cycles=2000",
            "--out", str(out), "--explore", "0", "--vectors", "4", "--jobs", "1"]
    assert main(args) == 1
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["final"]["stop_reason"] == "awaiting_vendor_builds"
    (design,) = report["designs"]
    assert design["status"] == "pending_vendor" and design["bit_exact"] is True
    vendor = design["vendor"]
    assert Path(vendor["script"]).is_file() and "vivado -mode batch" in vendor["run"]
    assert "stochflow collect-synthesis" in vendor["collect"]
    assert f"--store {out / 'evidence.sqlite'}" in vendor["collect"]
    assert "collect-synthesis" in printed

    # Nothing collected yet: resuming waits again, without simulating the design twice.
    activity = Path(design["design"]).parent / "activity.json"
    stamp = activity.stat().st_mtime_ns
    assert main([*args, "--resume"]) == 1
    assert json.loads((out / "report.json").read_text())["final"]["stop_reason"] == \
        "awaiting_vendor_builds"
    assert activity.stat().st_mtime_ns == stamp
