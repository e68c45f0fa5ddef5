"""Sweeps with the real tools: a Dask LocalCluster, the local pool, Ctrl-C and resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.store import EvidenceStore
from stochflow.flow.sweep import SUMMARY_FILE

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny" / "network.toml"


def _summary(out: Path) -> dict:
    return json.loads((out / SUMMARY_FILE).read_text())


def _observations(store: Path) -> int:
    """Rows committed so far, read the way another process would (read-only)."""
    if not store.exists():
        return 0
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
        except sqlite3.OperationalError:  # tables not created yet
            return 0


def _processes_under(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.mark.slow
def test_six_points_on_a_dask_cluster_then_all_cached(
    cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, store = tmp_path / "sweep", tmp_path / "evidence.sqlite"
    common = ["--target", "ice40-up5k", "--clock-mhz", "24", "--out", str(out), "--store", str(store)]
    grid = ["--grid", "L=64,128,256;precision=4,6"]
    assert main(["sweep", str(TINY), *grid, *common, "--scheduler", cluster.scheduler_address]) == 0
    summary = _summary(out)
    assert summary["points"] == 6 and not summary["interrupted"]
    assert summary["counts"] == {"built": 6, "cached": 0, "failed": 0, "error": 0}
    with EvidenceStore(store) as opened:
        observations = opened.observations()
        assert opened.failures() == []
    assert len(observations) == 6 and len({o.design_hash for o in observations}) == 6
    assert {o.build.clock_mhz for o in observations} == {24.0}
    lengths = {o.layers[0]["bitstream_length"] for o in observations}
    assert lengths == {64, 128, 256}
    table = capsys.readouterr().out
    assert "L-256_precision-6" in table and "built" in table
    # The same sweep again, on the local pool this time: every point is already measured.
    assert main(["sweep", str(TINY), *grid, *common, "--jobs", "2"]) == 0
    assert _summary(out)["counts"] == {"built": 0, "cached": 6, "failed": 0, "error": 0}
    with EvidenceStore(store) as opened:
        assert opened.count() == 6


# 32 → 32, every column in parallel: at 2 bits it fits an iCE40UP5K (~2300 LUTs), at
# 12 bits it needs more logic cells than the device has (~6300 LUTs before packing).
WIDE = """\
[network]
name = "wide"
[network.generator]
kind = "he-normal"
seed = 3
[defaults]
bitstream_length = 16
precision = 2
folding = 33
[defaults.weight_rng]
kind = "lfsr"
width = 16
seed = 0xACE1
[defaults.input_rng]
kind = "lfsr"
width = 16
seed = 0x1234
[[layer]]
name = "hidden"
inputs = 32
outputs = 32
"""


@pytest.mark.slow
def test_a_point_that_does_not_fit_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "wide.toml"
    spec.write_text(WIDE)
    out, store = tmp_path / "sweep", tmp_path / "evidence.sqlite"
    argv = [
        "sweep", str(spec), "--grid", "precision=12,2", "--target", "ice40-up5k",
        "--out", str(out), "--store", str(store), "--jobs", "2",
    ]  # fmt: skip
    assert main(argv) == 1  # a build failed: exit 1, after every point was tried
    err = capsys.readouterr().err
    summary = _summary(out)
    by_point = {outcome["point"]: outcome for outcome in summary["outcomes"]}
    too_big = by_point.pop("precision-12")
    assert too_big["status"] == "failed" and too_big["observation"] is None
    failure = too_big["failure"]
    assert failure["kind"] == "does_not_fit" and failure["step"] == "nextpnr"
    assert "does not fit iCE40UP5K-SG48" in failure["reason"]
    assert Path(failure["log_path"]).is_file()
    assert [o["status"] for o in by_point.values()] == ["built"]
    assert "1 of 2 points were not measured" in err and "does_not_fit" in err
    with EvidenceStore(store) as opened:
        assert opened.count() == 1
        (recorded,) = opened.failures()
    assert (recorded.design_hash, recorded.reason) == (too_big["design_hash"], failure["reason"])
    assert recorded.log_path == failure["log_path"]


@pytest.mark.slow
def test_interrupted_sweep_keeps_the_store_consistent_and_resumes(tmp_path: Path) -> None:
    out, store = tmp_path / "sweep", tmp_path / "evidence.sqlite"
    argv = [
        sys.executable, "-m", "stochflow.flow.cli", "sweep", str(TINY),
        "--grid", "L=64,128;precision=4,6", "--target", "ice40-up5k", "--clock-mhz", "24",
        "--out", str(out), "--store", str(store), "--jobs", "2",
    ]  # fmt: skip
    log = (tmp_path / "first.log").open("w")
    # SIGINT at its default even when this run inherited it ignored (a background job).
    first = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 600
    while _observations(store) < 1:
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        assert time.monotonic() < deadline, "no point was measured in time"
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)  # Ctrl-C, to the sweep process only
    assert first.wait(timeout=120) == 130
    log.close()
    printed = (tmp_path / "first.log").read_text()
    assert "interrupted" in printed and "run the same command again" in printed
    assert _processes_under(out) == []  # no tool was left running
    summary = _summary(out)
    assert summary["interrupted"] is True
    with EvidenceStore(store) as opened:  # readable, and only whole records
        kept = opened.count()
        assert opened.failures() == []
        assert all(o.resources["lc"].used > 0 for o in opened.observations())
    assert 1 <= kept < 4
    assert summary["counts"]["built"] == kept
    # Resume: the same command builds only what is missing.
    second = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert second.returncode == 0, second.stderr
    counts = _summary(out)["counts"]
    assert counts == {"built": 4 - kept, "cached": kept, "failed": 0, "error": 0}
    with EvidenceStore(store) as opened:
        assert opened.count() == 4


@pytest.mark.slow
def test_client_writes_the_store_for_workers_on_other_hosts(tmp_path: Path) -> None:
    out, store = tmp_path / "sweep", tmp_path / "evidence.sqlite"
    argv = [
        "sweep", str(TINY), "--grid", "precision=4,6", "--target", "ice40-up5k",
        "--out", str(out), "--store", str(store), "--jobs", "2", "--store-writes", "client",
    ]  # fmt: skip
    assert main(argv) == 0
    assert _summary(out)["counts"]["built"] == 2
    assert any((out / ".build-cache").rglob("*.json"))  # the jobs' cache: files under --out
    with EvidenceStore(store) as opened:
        assert opened.count() == 2  # written by the sweep process
    assert main(argv) == 0
    assert _summary(out)["counts"] == {"built": 0, "cached": 2, "failed": 0, "error": 0}
    with EvidenceStore(store) as opened:
        assert opened.count() == 2


@pytest.mark.slow
def test_steps_over_the_timeout_are_failed_records_not_a_stopped_sweep(tmp_path: Path) -> None:
    out, store = tmp_path / "sweep", tmp_path / "evidence.sqlite"
    argv = [
        "sweep", str(TINY), "--grid", "precision=4,6", "--target", "ice40-up5k",
        "--out", str(out), "--store", str(store), "--jobs", "2", "--timeout", "0.5",
    ]  # fmt: skip
    assert main(argv) == 1
    summary = _summary(out)
    assert summary["counts"] == {"built": 0, "cached": 0, "failed": 2, "error": 0}
    for outcome in summary["outcomes"]:
        failure = outcome["failure"]
        assert (failure["kind"], failure["step"]) == ("timeout", "yosys")
        assert Path(failure["log_path"]).is_file()
    with EvidenceStore(store) as opened:
        assert opened.count() == 0 and len(opened.failures()) == 2
    assert _processes_under(out) == []
