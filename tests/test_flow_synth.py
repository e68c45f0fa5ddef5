"""The open build with the real YoWASP tools: measured figures, cache, failures, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest
from stochflow.flow.cache import DirectoryCache
from stochflow.flow.cli import main
from stochflow.flow.store import EvidenceStore
from stochflow.flow.synth import PowerRequest, build, load_build
from stochflow.flow.synth_result import BuildResult
from stochflow.surrogate.evidence import observation_from_json
from stochflow.surrogate.observation import PowerFigure
from test_flow_synth_helpers import (
    generated_design,
    handwritten_design,
    raw_nextpnr_site,
    raw_yosys_count,
    raw_yosys_counts,
    too_big_v,
)

CLOCK_MHZ = 24.0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _last_fmax(nextpnr_log: str) -> tuple[str, float, float, str]:
    found = re.findall(
        r"Max frequency for clock +'([^']+)': ([0-9.]+) MHz \((PASS|FAIL) at ([0-9.]+) MHz\)",
        nextpnr_log,
    )
    assert found, "nextpnr printed no Fmax line"
    name, fmax, verdict, constraint = found[-1]
    return name, float(fmax), float(constraint), verdict


@pytest.fixture(scope="module")
def up5k(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, Path, Path, Path]:
    root = tmp_path_factory.mktemp("up5k")
    design = generated_design(root / "design")
    store_path = root / "evidence.sqlite"
    with EvidenceStore(store_path) as store:
        result = build(design, "ice40-up5k", CLOCK_MHZ, root / "build", store=store)
    return result, design, store_path, root


@pytest.mark.slow
def test_up5k_build_measures_what_the_tools_printed(up5k: tuple) -> None:
    result, design, store_path, _ = up5k
    assert result.ok and not result.cached and result.failure is None
    observation = result.observation
    assert observation is not None
    out = Path(result.out_dir)
    yosys_log = (out / "yosys.log").read_text()
    nextpnr_log = (out / "nextpnr.log").read_text()

    lut = observation.resources["lut"]
    assert lut.used == raw_yosys_count(yosys_log, "SB_LUT4")
    assert lut.source == "tool:yosys"
    lc_used, lc_available = raw_nextpnr_site(nextpnr_log, "ICESTORM_LC")
    assert (observation.resources["lc"].used, observation.resources["lc"].available) == (lc_used, lc_available)
    assert lut.available == lc_available  # one LUT4 per logic cell
    cells = raw_yosys_counts(yosys_log)
    assert observation.resources["ff"].used == sum(n for c, n in cells.items() if c.startswith("SB_DFF"))
    assert observation.resources["carry"].used == cells["SB_CARRY"]
    assert observation.resources["io"].used == raw_nextpnr_site(nextpnr_log, "SB_IO")[0]

    (clock,) = observation.clocks
    name, fmax, constraint, verdict = _last_fmax(nextpnr_log)
    assert clock.name == name and clock.source == "tool:nextpnr"
    assert clock.fmax_mhz == pytest.approx(fmax, abs=0.006)
    assert clock.constraint_mhz == constraint == CLOCK_MHZ
    assert clock.met is (verdict == "PASS")

    manifest = json.loads(design.read_text())
    assert observation.latency_cycles.value == manifest["latency_cycles"]
    assert observation.latency_cycles.source == "design:latency"
    assert observation.design_hash == manifest["design_hash"]
    assert observation.layers == tuple(manifest["layers"])
    assert observation.power is None  # no activity file, no power
    assert observation.device == "iCE40UP5K-SG48"
    banner = next(line.strip() for line in yosys_log.splitlines() if line.strip().startswith("Yosys "))
    assert observation.tools["yosys"] == banner
    assert re.fullmatch(r"nextpnr-\d+\.\d+.*", observation.tools["nextpnr"] or "")

    provenance = observation.provenance
    assert provenance["design_json"] == _sha(design)
    assert provenance["rtl_sc_network"] == _sha(design.parent / "sc_network.v")
    assert provenance["rtl_sc_board"] == _sha(design.parent / "sc_board.v")
    for role, name in (("yosys_stat", "stat.json"), ("nextpnr_report", "nextpnr-report.json"), ("nextpnr_log", "nextpnr.log"), ("bitstream", "bitstream.bin")):
        assert provenance[role] == _sha(out / name)
    assert (out / "bitstream.bin").stat().st_size > 0

    assert observation_from_json(observation.to_json()) == observation  # strict loader accepts it
    with EvidenceStore(store_path) as store:
        (stored,) = store.observations(target="ice40-up5k")
    assert stored.to_json() == observation.to_json()
    assert load_build(out).to_json() == result.to_json()
    assert result.tool_seconds > 0 and result.total_seconds >= result.tool_seconds


@pytest.mark.slow
def test_repeat_build_is_cached_and_fast(up5k: tuple) -> None:
    result, design, store_path, root = up5k
    started = time.perf_counter()
    with EvidenceStore(store_path) as store:
        again = build(design, "ice40-up5k", CLOCK_MHZ, root / "build", store=store)
    elapsed = time.perf_counter() - started
    assert again.cached and elapsed < 1.0
    assert again.observation is not None and result.observation is not None
    assert again.observation.to_json() == result.observation.to_json()
    assert again.cache_key == result.cache_key


@pytest.mark.slow
def test_cli_json_prints_the_observation(up5k: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    result, design, store_path, root = up5k
    argv = ["synth", "--design", str(design), "--target", "ice40-up5k", "--clock-mhz", "24", "--out", str(root / "build"), "--store", str(store_path), "--json"]  # fmt: skip
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "ok" and printed["cached"] is True
    assert printed["resources"] == {n: f.to_json() for n, f in result.observation.resources.items()}
    assert printed["fmax_mhz"] == result.fmax_mhz
    assert printed["latency_cycles"] == result.observation.latency_cycles.value
    assert printed["power"] is None


@pytest.mark.slow
def test_ecp5_25k_build(tmp_path: Path) -> None:
    design = generated_design(tmp_path / "design")
    result = build(design, "ecp5-25k", CLOCK_MHZ, tmp_path / "build", cache=DirectoryCache(tmp_path / "cache"))
    assert result.ok and result.observation is not None
    out = Path(result.out_dir)
    nextpnr_log = (out / "nextpnr.log").read_text()
    resources = result.observation.resources
    assert (resources["lut"].used, resources["lut"].available) == raw_nextpnr_site(nextpnr_log, "TRELLIS_COMB")
    assert (resources["ff"].used, resources["ff"].available) == raw_nextpnr_site(nextpnr_log, "TRELLIS_FF")
    assert resources["carry"].used == raw_yosys_count((out / "yosys.log").read_text(), "CCU2C")
    assert result.observation.device == "LFE5U-25F-CABGA381"
    assert (out / "bitstream.bit").stat().st_size > 0
    assert result.observation.clocks and result.observation.clocks[0].constraint_mhz == CLOCK_MHZ


@pytest.mark.slow
def test_too_big_design_is_a_clean_does_not_fit_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = handwritten_design(tmp_path / "design", too_big_v(), name="too_big")
    store_path = tmp_path / "evidence.sqlite"
    with EvidenceStore(store_path) as store:
        result = build(design, "ice40-up5k", CLOCK_MHZ, tmp_path / "build", store=store)
        assert store.count() == 0
        (stored,) = store.failures()
    assert not result.ok and result.observation is None
    failure = result.failure
    assert failure is not None and failure.kind == "does_not_fit" and failure.step == "nextpnr"
    log = Path(failure.log_path).read_text()
    error_line = re.findall(r"^ERROR: (.+)$", log, re.M)[-1]
    used, available = raw_nextpnr_site(log, "ICESTORM_LC")
    assert used > available
    assert "does not fit iCE40UP5K-SG48" in failure.reason
    assert f"ICESTORM_LC {used}/{available}" in failure.reason
    assert error_line in failure.reason
    assert (stored.step, stored.reason, stored.log_path) == ("nextpnr", failure.reason, failure.log_path)
    assert load_build(tmp_path / "build").failure == failure
    # The same inputs never fit: the CLI answers from the cache and exits 1 naming reason and log.
    argv = ["synth", "--design", str(design), "--target", "ice40-up5k", "--clock-mhz", "24", "--out", str(tmp_path / "build"), "--store", str(store_path)]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "does_not_fit" in err and failure.log_path in err


def _processes_in(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_step_timeout_gives_a_timeout_record(tmp_path: Path) -> None:
    design = generated_design(tmp_path / "design")
    cache = DirectoryCache(tmp_path / "cache")
    out = tmp_path / "build"
    result = build(design, "ice40-up5k", CLOCK_MHZ, out, step_timeout_s=0.5, cache=cache)
    assert not result.ok and result.observation is None
    assert result.failure is not None
    assert (result.failure.kind, result.failure.step) == ("timeout", "yosys")
    assert "0.5 s step timeout" in result.failure.reason
    assert Path(result.failure.log_path).parent == out.resolve()
    assert Path(result.failure.log_path).is_file()
    assert result.steps[-1].timed_out and result.steps[-1].returncode is None
    assert _processes_in(out.resolve()) == []  # the whole process group was killed
    assert not build(design, "ice40-up5k", CLOCK_MHZ, out, step_timeout_s=0.5, cache=cache).cached


@pytest.mark.slow
def test_power_hook_fills_power_only_with_an_activity_file(up5k: tuple, tmp_path: Path) -> None:
    result, design, _, _ = up5k
    activity = tmp_path / "activity.json"
    activity.write_text("{}\n")
    seen: list[PowerRequest] = []

    def static_only(request: PowerRequest) -> PowerFigure:
        """The cited static figure alone: enough to see the hook's plumbing."""
        seen.append(request)
        watts = request.target.static_power_w()
        return PowerFigure(total_w=watts, source="model:ice40-static", static_w=watts)

    powered = build(
        design, "ice40-up5k", CLOCK_MHZ, tmp_path / "build", cache=DirectoryCache(tmp_path / "cache"),
        activity=activity, power_model=static_only,
    )  # fmt: skip
    assert powered.ok and not powered.cached and powered.cache_key != result.cache_key
    (request,) = seen
    assert request.activity_path == activity.resolve()
    # Power is asked at the clock the build runs at: the constraint, or Fmax when missed.
    assert request.clock_mhz == min(CLOCK_MHZ, result.observation.fmax_mhz)
    assert request.observation.power is None
    observation = powered.observation
    assert observation is not None and observation.power is not None
    assert observation.power.source == "model:ice40-static"
    assert observation.power.total_w == pytest.approx(85.6e-6 * 1.2)
    assert observation.provenance["activity"] == _sha(activity)
    assert observation.resources == result.observation.resources
