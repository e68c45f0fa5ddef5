"""collect-synthesis on real reports: a Vivado triple, Quartus builds, wrong slots, failed
runs, reports of different builds, and the CLI's exit codes and one-line errors.

The corpus reports come from other people's designs, so each test's design.json (the
small network's real manifest) names that design's top module: a report naming a module
the manifest does not name is refused as another design's report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow import collect
from stochflow.flow.cli import main
from stochflow.flow.errors import FlowError, UsageError
from stochflow.flow.store import EvidenceStore
from stochflow.parsers.report import ReportError
from stochflow.surrogate.evidence import load_observations, payload_schema
from test_evidence_helpers import small_network, write_design

VIVADO = {
    "utilisation": "vivado/utilization/part-217-spi-master-salve__design_1_wrapper_utilization_placed.rpt",
    "power": "vivado/power/part-217-spi-master-salve__design_1_wrapper_power_routed.rpt",
    "timing": "vivado/timing/part-217-spi-master-salve__design_1_wrapper_timing_summary_routed.rpt",
}
# No corpus design has a fit.summary, pow.summary and sta.summary of one build; this one
# has the fitter report, power summary and timing summary of one build.
QUARTUS = {
    "utilisation": "quartus/fit_rpt/generator-optical-synchroniz__main.fit.rpt",
    "power": "quartus/pow_summary/generator-optical-synchroniz__main.pow.summary",
    "timing": "quartus/sta_summary/generator-optical-synchroniz__main.sta.summary",
}
QUARTUS_SUMMARIES = {
    "utilisation": "quartus/fit_summary/ptmch-fpga__top.fit.summary",
    "power": "quartus/pow_summary/ptmch-fpga__top.pow.summary",
}


def _files(corpus: Path, slots: dict[str, str]) -> dict[str, Path]:
    return {slot: corpus / name for slot, name in slots.items()}


def _cli(*args: str | Path) -> list[str]:
    return [str(arg) for arg in args]


# -- Python API -----------------------------------------------------------------------


def test_vivado_triple(corpus: Path, tmp_path: Path) -> None:
    design = write_design(tmp_path, top="design_1_wrapper")
    files = _files(corpus, VIVADO)
    payload = collect.build_payload_from_reports(
        design, files["utilisation"], files["power"], files["timing"], accuracy_score="0.9"
    )
    (observation,) = collect.observations_from_payload(payload)
    assert observation.design_hash == small_network().design_hash
    assert observation.target == "xc7z020clg400-1"
    assert observation.device == "xc7z020clg400-1"  # the power report's full spelling
    assert set(observation.tools) == {"vivado"} and "2017.2" in observation.tools["vivado"]
    lut, ff = observation.resources["lut"], observation.resources["ff"]
    assert (lut.used, lut.available, lut.source) == (738, 53200, "vendor:vivado")
    assert (ff.used, ff.available) == (1104, 106400)
    assert observation.power is not None and observation.power.source == "vendor:vivado"
    assert observation.timing is not None and observation.timing.source == "vendor:vivado"
    assert observation.timing.met is True and observation.timing.wns_ns == pytest.approx(3.78)
    (clock,) = observation.clocks
    assert (clock.name, clock.constraint_mhz, clock.met, clock.fmax_mhz) == (
        "clk_fpga_0",
        100.0,
        True,
        None,
    )
    assert observation.accuracy is not None
    assert (observation.accuracy.value, observation.accuracy.source) == (0.9, "user:accuracy-score")
    assert observation.latency_cycles.source == "design:latency"
    assert observation.energy_per_inference_j is None
    assert set(observation.provenance) == {"design_json", "utilisation", "power", "timing"}


def test_quartus_fitter_power_and_timing(corpus: Path, tmp_path: Path) -> None:
    design = write_design(tmp_path, top="main")
    files = _files(corpus, QUARTUS)
    observation = collect.build_observation(
        design, files["utilisation"], files["power"], files["timing"], accuracy_score="91.5%"
    )
    assert observation.device == "10M08SAE144C8G"
    assert observation.resources["le"].used == 62
    assert observation.resources["le"].source == "vendor:quartus"
    assert observation.power is not None and observation.power.total_w == pytest.approx(0.12669)
    # This build fails timing; the failure is recorded, not dropped.
    assert observation.timing_met is False
    assert observation.accuracy is not None and observation.accuracy.value == pytest.approx(0.915)


def test_quartus_summaries(corpus: Path, tmp_path: Path) -> None:
    design = write_design(tmp_path, top="max10_10m08_top")
    files = _files(corpus, QUARTUS_SUMMARIES)
    observation = collect.build_observation(
        design,
        files["utilisation"],
        files["power"],
        accuracy_score=0.5,
        clock_mhz=50.0,
        inferences_per_run=1,
    )
    assert observation.resources["le"].used == 2726
    assert observation.resources["memory_bits"].used == 273408
    assert observation.power is not None and observation.power.total_w == pytest.approx(0.57691)
    energy = observation.energy_per_inference_j
    assert energy is not None and energy.source == "derived:power-latency-clock"
    assert energy.value == pytest.approx(0.57691 * observation.latency_cycles.value / 50e6)


def test_power_report_in_the_utilisation_slot(corpus: Path, tmp_path: Path) -> None:
    files = _files(corpus, VIVADO)
    with pytest.raises(
        UsageError,
        match=r"--utilisation: .*power_routed\.rpt: a vivado power report was given where a utilization report",
    ):
        collect.build_observation(
            write_design(tmp_path), files["power"], files["power"], accuracy_score=0.9
        )


def test_failed_run_gives_no_observation(corpus: Path, tmp_path: Path) -> None:
    failed = corpus / "quartus/map_summary/hyperram-controller__top_ohbmc.map.summary"
    with pytest.raises(FlowError, match="run failed"):
        collect.build_observation(write_design(tmp_path), failed, None, accuracy_score=0.9)


def test_reports_of_different_devices_are_refused(corpus: Path, tmp_path: Path) -> None:
    # The corpus holds this project's fitter summary and power summary for two devices.
    fit = corpus / "quartus/fit_summary/cpu-project__CPU.fit.summary"
    power = corpus / "quartus/pow_summary/cpu-project__CPU.pow.summary"
    with pytest.raises(UsageError, match=r"EP4CE6F17C6.*EP4CGX30CF23C6.*not one build"):
        collect.build_observation(write_design(tmp_path, top="CPU"), fit, power, accuracy_score=0.9)


def test_report_of_another_design_is_refused(corpus: Path, tmp_path: Path) -> None:
    files = _files(corpus, VIVADO)
    with pytest.raises(UsageError, match=r"design 'design_1_wrapper'.*sc_network / sc_board"):
        collect.build_observation(
            write_design(tmp_path), files["utilisation"], files["power"], accuracy_score=0.9
        )


def test_missing_power_total(corpus: Path, tmp_path: Path) -> None:
    """The same real power report with its total line removed."""
    source = corpus / VIVADO["power"]
    lines = source.read_text().splitlines(keepends=True)
    kept = [line for line in lines if "Total On-Chip Power" not in line]
    assert len(kept) == len(lines) - 1
    power = tmp_path / "no_total_power.rpt"
    power.write_text("".join(kept))
    with pytest.raises(ReportError, match=r"no_total_power\.rpt"):
        collect.build_observation(
            write_design(tmp_path, top="design_1_wrapper"),
            corpus / VIVADO["utilisation"],
            power,
            accuracy_score=0.9,
        )


# -- CLI ------------------------------------------------------------------------------


def test_cli_writes_payload_and_store(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = write_design(tmp_path, top="design_1_wrapper")
    files = _files(corpus, VIVADO)
    out, store = tmp_path / "obs.json", tmp_path / "evidence.sqlite"
    args = _cli(
        "collect-synthesis",
        "--design",
        design,
        "--utilization",
        files["utilisation"],
        "--power",
        files["power"],
        "--timing",
        files["timing"],
        "--accuracy-score",
        "0.9",
        "--clock-mhz",
        "100",
        "--inferences-per-run",
        "4",
        "--target",
        "zynq-7020",
        "--store",
        store,
        "--out",
        out,
    )
    assert main(args) == 0
    (observation,) = load_observations(out)
    assert observation.target == "zynq-7020"
    assert observation.energy_per_inference_j is not None
    import jsonschema

    jsonschema.validate(json.loads(out.read_text()), payload_schema())
    assert "lut" in capsys.readouterr().out
    assert main(args) == 0  # the same build again: idempotent
    with EvidenceStore(store) as opened:
        assert opened.observations() == [observation]


def test_cli_no_store(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = _files(corpus, QUARTUS_SUMMARIES)
    code = main(
        _cli(
            "collect-synthesis",
            "--design",
            write_design(tmp_path, top="max10_10m08_top"),
            "--utilisation",
            files["utilisation"],
            "--power",
            files["power"],
            "--accuracy-score",
            "77",
            "--no-store",
            "--out",
            "o.json",
        )
    )
    assert code == 0
    assert (tmp_path / "o.json").is_file() and not (tmp_path / "build").exists()


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"--accuracy-score": "1.7.2"}, "--accuracy-score"),
        ({"--accuracy-score": "140"}, "above 100"),
        ({"--utilisation": "VIVADO:power"}, "power report was given where a utilization"),
        ({"--power": "absent.rpt"}, "no such file"),
        ({"--latency-cycles": "3"}, "contradicts"),
        ({"--target": "Zynq 7020"}, "--target"),
    ],
)
def test_cli_bad_input_exits_2(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, words: str
) -> None:
    files = _files(corpus, VIVADO)
    options = {
        "--design": str(write_design(tmp_path, top="design_1_wrapper")),
        "--utilisation": str(files["utilisation"]),
        "--power": str(files["power"]),
        "--accuracy-score": "0.9",
        "--out": str(tmp_path / "o.json"),
    }
    for key, value in change.items():
        options[key] = str(files[value.split(":")[1]]) if value.startswith("VIVADO:") else value
    argv = ["collect-synthesis", "--no-store"] + [item for pair in options.items() for item in pair]
    assert main(argv) == 2
    assert words in _one_line_error(capsys)
    assert not (tmp_path / "o.json").exists()


def test_cli_missing_flag_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "collect-synthesis",
                "--utilisation",
                "u.rpt",
                "--accuracy-score",
                "1",
                "--out",
                "o.json",
            ]
        )
    assert caught.value.code == 2
    assert "--design" in _one_line_error(capsys)


def test_cli_unparsable_report_exits_1(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = write_design(tmp_path)
    code = main(
        _cli(
            "collect-synthesis",
            "--design",
            design,
            "--utilisation",
            design,
            "--accuracy-score",
            "0.9",
            "--no-store",
            "--out",
            tmp_path / "o.json",
        )
    )
    assert code == 1
    assert "design.json" in _one_line_error(capsys)


def test_cli_failed_run_exits_1_and_is_remembered(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = corpus / "quartus/map_summary/hyperram-controller__top_ohbmc.map.summary"
    store = tmp_path / "evidence.sqlite"
    code = main(
        _cli(
            "collect-synthesis",
            "--design",
            write_design(tmp_path),
            "--utilisation",
            failed,
            "--accuracy-score",
            "0.9",
            "--target",
            "10cl025",
            "--store",
            store,
            "--out",
            tmp_path / "o.json",
        )
    )
    assert code == 1
    assert "run failed" in _one_line_error(capsys)
    assert not (tmp_path / "o.json").exists()
    with EvidenceStore(store) as opened:
        (failure,) = opened.failures()
        assert opened.count() == 0
    assert failure.design_hash == small_network().design_hash
    assert failure.target == "10cl025" and failure.step == "quartus:map_summary"
    assert failure.log_path == str(failed)
