"""Vivado report parsers on the real-report corpus: every file parses, the right module
claims it, and hand-checked values (read off the files by eye) come out exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers.common import read_report
from stochflow.parsers.report import ReportError
from test_parsers_vivado_helpers import FOLDERS, MODULES, corpus_files, real_text


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_corpus_file_parses(corpus: Path, folder: str) -> None:
    module = FOLDERS[folder]
    failures = []
    for path in corpus_files(corpus, folder):
        source = read_report(path)
        try:
            report = module.parse(source.text, str(path))
        except ReportError as error:
            failures.append(str(error))
            continue
        assert report.tool == "vivado"
        assert report.file == str(path)
        assert report.tool_version, path
        assert report.status is None  # these formats state no run status; none is invented
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_kind_sniffing_claims_only_its_own_reports(corpus: Path, folder: str) -> None:
    for path in corpus_files(corpus, folder):
        text = read_report(path).text
        claimed = [module.__name__ for module in MODULES if module.looks_like(text)]
        assert claimed == [FOLDERS[folder].__name__], path


def test_sniffing_rejects_other_tools(corpus: Path) -> None:
    others = [p for p in (corpus / "quartus").rglob("*") if p.is_file()][:5]
    others += [p for p in (corpus / "yosys").rglob("*") if p.is_file()][:5]
    for path in others:
        text = read_report(path).text
        assert not any(module.looks_like(text) for module in MODULES), path


# ------------------------------------------------------------------ utilisation
def test_utilization_7series_with_prohibited_column(corpus: Path) -> None:
    path = "utilization/ebaz4205__design_1_wrapper_utilization_placed.rpt"
    data = FOLDERS["utilization"].parse(real_text(corpus, path)).to_json()
    assert data["kind"] == "utilization"
    assert data["tool_version"] == "2021.1"
    assert data["device"] == "7z010clg400-1"
    assert data["design"] == "design_1_wrapper"
    assert data["resources"] == {
        "lut": {"used": 3, "available": 17600},
        "ff": {"used": 10, "available": 35200},
        "bram_tile": {"used": 0, "available": 60},
        "dsp": {"used": 0, "available": 80},
        "io": {"used": 16, "available": 100},
    }


def test_utilization_ultrascale_plus_clb_layout(corpus: Path) -> None:
    path = "utilization/elen90096-group-2__design_1_wrapper_utilization_placed.rpt"
    data = FOLDERS["utilization"].parse(real_text(corpus, path)).to_json()
    assert data["tool_version"] == "2023.1"
    assert data["device"] == "xck26-sfvc784-2LV-c"
    assert data["resources"] == {
        "lut": {"used": 57853, "available": 117120},
        "ff": {"used": 36717, "available": 234240},
        "bram_tile": {"used": 144, "available": 144},
        "uram": {"used": 0, "available": 64},
        "dsp": {"used": 102, "available": 1248},
        "io": {"used": 0, "available": 189},
    }


def test_utilization_2014_without_prohibited_and_truncated_percentages(corpus: Path) -> None:
    # 2014.2 truncates Util% (3139/218600 = 1.436% printed 1.43): still agrees.
    path = "utilization/vivado-xapp1082__design_1_wrapper_utilization_placed.rpt"
    data = FOLDERS["utilization"].parse(real_text(corpus, path)).to_json()
    assert data["tool_version"] == "2014.2"
    assert data["device"] == "xc7z045"
    assert data["resources"] == {
        "lut": {"used": 3373, "available": 218600},
        "ff": {"used": 3710, "available": 437200},
        "bram_tile": {"used": 180, "available": 545},
        "dsp": {"used": 0, "available": 900},
        "io": {"used": 5, "available": 362},
    }


def test_utilization_half_block_ram_tiles(corpus: Path) -> None:
    path = "utilization/grandtheftauto__design_1_wrapper_utilization_placed.rpt"
    resources = FOLDERS["utilization"].parse(real_text(corpus, path)).to_json()["resources"]
    assert resources["bram_tile"] == {"used": 56.5, "available": 135}
    assert resources["lut"] == {"used": 15894, "available": 63400}
    assert resources["ff"] == {"used": 17036, "available": 126800}


def test_utilization_synthesized_with_footnoted_label(corpus: Path) -> None:
    path = "utilization_synth/aes-test__design_1_wrapper_utilization_synth.rpt"
    resources = FOLDERS["utilization_synth"].parse(real_text(corpus, path)).to_json()["resources"]
    assert resources["lut"] == {"used": 915, "available": 53200}  # row label "Slice LUTs*"
    assert resources["ff"] == {"used": 1120, "available": 106400}


def test_utilization_hierarchical_top_row(corpus: Path) -> None:
    path = "utilization_hier/chisel-checkers-vivado-build__ChiselCheckers_synth_utilization.txt"
    data = FOLDERS["utilization_hier"].parse(real_text(corpus, path)).to_json()
    assert data["kind"] == "utilization"
    assert data["tool_version"] == "2025.1"
    assert data["device"] == "xc7a100tcsg324-1"
    assert data["design"] == "ChiselCheckers"
    # The (top) row, not "(ChiselCheckers)" (7 LUTs) nor the RAMB36/RAMB18 header digits.
    assert data["resources"] == {
        "lut": {"used": 1557},
        "ff": {"used": 407},
        "ramb36": {"used": 0},
        "ramb18": {"used": 0},
        "dsp": {"used": 0},
    }


# ------------------------------------------------------------------ power
def test_power_ultrascale_plus(corpus: Path) -> None:
    path = "power/drcv1-0deliverableplatform__design_1_wrapper_power_routed.rpt"  # CRLF file
    data = FOLDERS["power"].parse(real_text(corpus, path)).to_json()
    assert data["kind"] == "power"
    assert data["tool_version"] == "2023.1"
    assert data["device"] == "xczu3eg-sfvc784-1-e"
    assert data["power"] == {
        "total_w": 2.277,
        "dynamic_w": 1.965,
        "static_w": 0.311,
        "confidence": "Low",
        "junction_c": 30.4,
    }


def test_power_total_marked_junction_temp_exceeded(corpus: Path) -> None:
    path = "power/cpu__CPU_power_routed.rpt"
    data = FOLDERS["power"].parse(real_text(corpus, path)).to_json()
    assert data["tool_version"] == "2016.1"
    assert data["power"] == {
        "total_w": 37.884,
        "dynamic_w": 37.398,
        "static_w": 0.486,
        "confidence": "Low",
        "junction_c": 125.0,
    }


# ------------------------------------------------------------------ timing
def test_timing_met(corpus: Path) -> None:
    path = "timing/sec-g5__design_1_wrapper_timing_summary_routed.rpt"
    data = FOLDERS["timing"].parse(real_text(corpus, path)).to_json()
    assert data["kind"] == "timing"
    assert data["tool_version"] == "2024.1"
    assert data["device"] == "7z020-clg400"
    assert data["timing"] == {
        "wns_ns": 2.123,
        "tns_ns": 0.0,
        "whs_ns": 0.069,
        "ths_ns": 0.0,
        "constraints_met": True,
        "clocks": [{"name": "clk_fpga_0", "period_ns": 10.0, "constraint_mhz": 100.0}],
    }


def test_timing_failed_hold_keeps_signs(corpus: Path) -> None:
    path = "timing/spartan-p3-scripting__post_synth_timing_summary.rpt"
    timing = FOLDERS["timing"].parse(real_text(corpus, path)).timing
    assert timing is not None
    assert (timing.wns_ns, timing.tns_ns) == (4.947, 0.0)
    assert (timing.whs_ns, timing.ths_ns) == (-0.165, -8.449)
    assert timing.constraints_met is False
    assert timing.fmax_mhz is None  # not derived from WNS
    assert [clock.name for clock in timing.clocks][:2] == ["SP7_50MHZ_OSC_INPUT", "clk100_1"]
    assert timing.clocks[4].period_ns == 156.25 and timing.clocks[4].constraint_mhz == 6.4


def test_timing_without_constraints_states_nothing(corpus: Path) -> None:
    path = "timing/cpu__CPU_timing_summary_routed.rpt"
    data = FOLDERS["timing"].parse(real_text(corpus, path)).to_json()
    assert "timing" not in data  # all NA, no verdict, no clocks: nothing is invented


# ------------------------------------------------------------------ HLS
def test_hls_vitis_add(corpus: Path) -> None:
    path = "hls_csynth/pynq-test__add_csynth.rpt"
    report = FOLDERS["hls_csynth"].parse(real_text(corpus, path))
    data = report.to_json()
    assert data["kind"] == "hls_csynth"
    assert data["tool_version"] == "2020.2"
    assert data["device"] == "xc7z020-clg400-1"
    assert data["design"] == "add"
    assert data["resources"] == {
        "bram_18k": {"used": 0, "available": 280},
        "dsp": {"used": 0, "available": 220},
        "ff": {"used": 150, "available": 106400},
        "lut": {"used": 271, "available": 53200},
        "uram": {"used": 0, "available": 0},
    }
    assert (data["latency_cycles_min"], data["latency_cycles_max"]) == (0, 0)
    assert report.timing is not None
    (clock,) = report.timing.clocks
    assert clock.name == "ap_clk"
    assert clock.period_ns == 10.0 and clock.constraint_mhz == 100.0
    assert clock.fmax_mhz == pytest.approx(1000.0 / 4.552)  # Estimated 4.552 ns


def test_hls_latency_range_and_crlf(corpus: Path) -> None:
    path = "hls_csynth/weighted-round-robin-arbiter__Block_entry_split_proc_csynth.rpt"
    report = FOLDERS["hls_csynth"].parse(real_text(corpus, path))
    assert report.tool_version == "2024.1"
    assert (report.latency_cycles_min, report.latency_cycles_max) == (11, 143)
    assert report.resources["lut"].used == 1285
    assert report.resources["bram_18k"].used == 1


def test_hls_per_slr_rows_do_not_replace_available(corpus: Path) -> None:
    path = "hls_csynth/sort-acceleration__multi_radix_bin_kmerge_csynth.rpt"
    report = FOLDERS["hls_csynth"].parse(real_text(corpus, path))
    # Available 4032 (not "Available SLR" 1344, against which 3040 would be 226%).
    assert report.resources["bram_18k"].to_json() == {"used": 3040, "available": 4032}
    assert report.latency_cycles_min == 25000377
