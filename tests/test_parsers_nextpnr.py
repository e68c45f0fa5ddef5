"""nextpnr logs and --report JSON: utilisation, final Fmax, failed runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import ReportError, ResourceCount, parse_file, parse_text
from stochflow.parsers.common import read_report
from test_parsers_helpers import NEXTPNR_FIXTURES


def test_ice40_log_values_last_timing_report_wins(corpus: Path) -> None:
    report = parse_file(corpus / "nextpnr/pnr_log/project-5__nextpnr.log")
    assert (report.tool, report.kind, report.status) == ("nextpnr", "pnr_log", "ok")
    assert report.resources["ICESTORM_LC"] == ResourceCount(4012, 5280)
    assert report.resources["lc"] == ResourceCount(4012, 5280)
    assert report.resources["ICESTORM_RAM"] == ResourceCount(4, 30)
    assert report.resources["SB_IO"] == ResourceCount(32, 96)
    assert report.resources["ICESTORM_SPRAM"] == ResourceCount(4, 4)
    timing = report.timing
    assert timing is not None and timing.constraints_met is True
    assert timing.fmax_mhz is None  # nextpnr states Fmax per clock only
    clocks = {clock.name: clock for clock in timing.clocks}
    # after routing (line 657/658), not after placement (144.07 / 15.52)
    assert clocks["display.refresh_tick"].fmax_mhz == 131.94
    assert clocks["clk$SB_IO_IN_$glb_clk"].fmax_mhz == 14.75
    assert clocks["clk$SB_IO_IN_$glb_clk"].constraint_mhz == 13.0
    assert clocks["clk$SB_IO_IN_$glb_clk"].met is True


def test_ecp5_log_values(corpus: Path) -> None:
    report = parse_file(corpus / "nextpnr/pnr_log/led-panel-1bpp__nextpnr.log")
    assert report.resources["TRELLIS_COMB"] == ResourceCount(75, 24288)
    assert report.resources["TRELLIS_FF"] == ResourceCount(18, 24288)
    assert report.resources["DP16KD"] == ResourceCount(3, 56)
    assert "Total LUT4s" not in report.resources  # pre-packing estimate, not the placed design
    assert report.timing is not None and report.timing.clocks[0].fmax_mhz == 273.75


def test_failed_timing_is_not_met(corpus: Path) -> None:
    report = parse_file(corpus / "nextpnr/pnr_log/nn-digits__pnr.log")
    assert report.status == "ok"
    timing = report.timing
    assert timing is not None
    assert timing.constraints_met is False
    assert (timing.clocks[0].fmax_mhz, timing.clocks[0].constraint_mhz) == (15.05, 25.0)


def test_timing_error_without_allow_fail() -> None:
    error_log = parse_file(NEXTPNR_FIXTURES / "sc_pair_ice40_timing_error.log")
    warning_log = parse_file(NEXTPNR_FIXTURES / "sc_pair_ice40_timing_warning.log")
    for report in (error_log, warning_log):
        assert report.status == "ok"
        assert report.timing is not None and report.timing.constraints_met is False
        assert report.timing.clocks[0].fmax_mhz == 89.24
        assert report.resources["lc"] == ResourceCount(46, 5280)
    assert error_log.status_text == "Program finished normally (1 timing error(s))"


def test_crashed_run_is_failed_without_numbers(corpus: Path) -> None:
    report = parse_file(corpus / "nextpnr/pnr_log/ksz9031-gatemate__pnr.log")
    assert report.status == "failed"
    assert report.status_text is not None and report.status_text.startswith("terminate called")
    assert report.device == "CCGM1A1"
    assert report.resources == {} and report.timing is None


def test_other_error_is_a_failed_run() -> None:
    text = (
        "Info: Device utilisation:\n"
        "Info: \t             SLICE_LUTX: 776182/597200   129%\n"
        "\n"
        "ERROR: Failed to expand region (0, 0) |_> (309, 416) of 776182 SLICE_LUTXs\n"
        "0 warnings, 1 error\n"
    )
    report = parse_text(text)
    assert (report.status, report.resources) == ("failed", {})


def test_log_and_report_agree() -> None:
    log = parse_file(NEXTPNR_FIXTURES / "sc_pair_ice40_pnr.log")
    data = parse_file(NEXTPNR_FIXTURES / "sc_pair_ice40_report.json")
    assert data.kind == "pnr_report"
    assert {name: log.resources[name] for name in data.resources} == data.resources
    assert data.timing is not None and log.timing is not None
    assert round(data.timing.clocks[0].fmax_mhz or 0, 2) == log.timing.clocks[0].fmax_mhz == 89.24
    assert data.timing.clocks[0].constraint_mhz == 48.0 and data.timing.constraints_met is True


def test_report_json_values(corpus: Path) -> None:
    report = parse_file(corpus / "nextpnr/pnr_report_json/ksz9031-gatemate__timing_report.json")
    assert report.resources["CPE_LT"] == ResourceCount(6814, 40960)
    assert report.resources["CPE_ADDF"] == ResourceCount(23, None)  # "available": 0
    assert report.resources["CFG_CTRL"] == ResourceCount(0, 1)
    timing = report.timing
    assert timing is not None and timing.constraints_met is False
    clock = next(clock for clock in timing.clocks if clock.name == "clk_125")
    assert clock.fmax_mhz == pytest.approx(30.380361557006836)
    assert (clock.constraint_mhz, clock.met) == (125.0, False)


def test_damaged_utilisation_row_is_an_error(corpus: Path) -> None:
    text = read_report(corpus / "nextpnr/pnr_log/project-5__nextpnr.log").text
    broken = text.replace("SB_IO:    32/   96", "SB_IO:    32/   9x", 1)
    with pytest.raises(ReportError) as caught:
        parse_text(broken)
    assert caught.value.line == 70


def test_orphan_utilisation_row_is_an_error(corpus: Path) -> None:
    text = read_report(corpus / "nextpnr/pnr_log/project-5__nextpnr.log").text
    with pytest.raises(ReportError) as caught:
        parse_text(text.replace("Info: Device utilisation:\n", "Info: Device:\n", 1))
    assert caught.value.line == 68


def test_percent_must_agree(corpus: Path) -> None:
    text = read_report(corpus / "nextpnr/pnr_log/project-5__nextpnr.log").text
    with pytest.raises(ReportError, match="disagrees"):
        parse_text(text.replace("4012/ 5280    75%", "4012/ 5280    57%", 1))


def test_pass_verdict_must_agree_with_fmax(corpus: Path) -> None:
    text = read_report(corpus / "nextpnr/pnr_log/project-5__nextpnr.log").text
    broken = text.replace("14.75 MHz (PASS at 13.00 MHz)", "12.75 MHz (PASS at 13.00 MHz)")
    with pytest.raises(ReportError, match=r"PASS with 12\.75 MHz"):
        parse_text(broken)


def test_report_json_used_above_available() -> None:
    text = (NEXTPNR_FIXTURES / "sc_pair_ice40_report.json").read_text()
    broken = text.replace(
        '"ICESTORM_LC": {"available": 5280, "used": 46}',
        '"ICESTORM_LC": {"available": 5280, "used": 6000}',
    )
    assert broken != text
    with pytest.raises(ReportError, match="exceeds available"):
        parse_text(broken)
