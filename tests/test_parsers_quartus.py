"""Quartus summaries, STA summary and fit.rpt: hand-checked values and strictness."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import ReportError, ResourceCount, parse_file, parse_text
from stochflow.parsers.common import read_report


def _text(corpus: Path, relative: str) -> str:
    return read_report(corpus / "quartus" / relative).text


def test_fit_summary_values(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/fit_summary/agat-9__top.fit.summary")
    assert report.kind == "fit_summary"
    assert report.tool_version == "Quartus Prime 20.1.1 Build 720 11/11/2020 SJ Standard Edition"
    assert (report.device, report.design, report.status) == ("EP4CE15F23C8", "top", "ok")
    assert report.status_text == "Successful - Tue Feb 21 15:49:18 2023"
    resources = report.resources
    assert resources["le"] == ResourceCount(5766, 15408)
    assert resources["ff"] == ResourceCount(2178, None)
    assert resources["io"] == ResourceCount(88, 344)
    assert resources["memory_bits"] == ResourceCount(261312, 516096)
    assert resources["dsp"] == ResourceCount(0, 112)
    assert resources["pll"] == ResourceCount(1, 4)
    assert resources["Total combinational functions"] == ResourceCount(5500, 15408)
    assert "alm" not in resources


def test_fit_summary_alm_family(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/fit_summary/angry-bird-game__Lab1Demo.fit.summary")
    assert report.resources["alm"] == ResourceCount(11220, 41910)
    assert report.resources["memory_bits"] == ResourceCount(2498560, 5662720)
    assert report.resources["dsp"] == ResourceCount(0, 112)
    assert report.resources["ff"] == ResourceCount(4413, None)
    assert "le" not in report.resources


def test_pro_edition_registers_are_ff(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/fit_summary/opt4__top.fit.summary")
    assert report.resources["ff"] == ResourceCount(10271, None)
    assert "Total dedicated logic registers" not in report.resources
    assert report.resources["alm"] == ResourceCount(5477, 487200)


def test_key_digits_are_not_counts(corpus: Path) -> None:
    """'Embedded Multiplier 9-bit elements : 0 / 70' states zero DSPs, not nine."""
    report = parse_file(corpus / "quartus/fit_summary/decimal-counter-de2__top.fit.summary")
    assert report.resources["dsp"] == ResourceCount(0, 70)
    assert report.resources["le"] == ResourceCount(98, 33216)  # "( < 1 % )"


def test_map_summary_bare_counts(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/map_summary/cpu-project__CPU.map.summary")
    assert report.kind == "map_summary"
    assert report.device is None  # a map summary names the family only
    assert report.resources["le"] == ResourceCount(835, None)
    assert report.resources["ff"] == ResourceCount(94, None)
    assert report.resources["io"] == ResourceCount(146, None)
    assert report.resources["memory_bits"] == ResourceCount(65536, None)
    assert report.resources["Total combinational functions"] == ResourceCount(787, None)


def test_not_available_is_absent_never_zero(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/map_summary/agat-9__top.map.summary")
    assert report.status == "ok"
    assert report.resources == {}
    mixed = parse_file(corpus / "quartus/map_summary/mnist-mlp__MNIST_MLP.map.summary")
    assert "alm" not in mixed.resources  # "Logic utilization (in ALMs) : N/A"
    assert mixed.resources["ff"] == ResourceCount(11290, None)
    assert mixed.resources["dsp"] == ResourceCount(52, None)


def test_failed_run_states_no_numbers(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/map_summary/hyperram-controller__top_ohbmc.map.summary")
    assert report.status == "failed"
    assert report.status_text == "Failed - Thu Mar 20 15:06:48 2025"
    assert report.resources == {} and "resources" not in report.to_json()


def test_failed_status_drops_stated_numbers() -> None:
    text = "Fitter Status : Failed - Mon Jan  1 00:00:00 2024\nTotal logic elements : 5 / 10 ( 50 % )\n"
    report = parse_text(text)
    assert report.status == "failed" and report.resources == {}


def test_pow_summary_values(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/pow_summary/cpu-project__CPU.pow.summary")
    assert report.kind == "pow_summary"
    power = report.power
    assert power is not None
    assert power.total_w == pytest.approx(0.14810, abs=1e-12)
    assert power.dynamic_w == pytest.approx(0.01607, abs=1e-12)
    assert power.static_w == pytest.approx(0.04304, abs=1e-12)
    assert power.io_w == pytest.approx(0.08899, abs=1e-12)
    assert power.confidence == "Low"
    assert report.device == "EP4CE6F17C6"


def test_power_total_must_be_the_sum(corpus: Path) -> None:
    text = _text(corpus, "pow_summary/cpu-project__CPU.pow.summary").replace(
        "148.10 mW", "148.90 mW"
    )
    with pytest.raises(ReportError, match="not core dynamic"):
        parse_text(text)


def test_power_unit_is_normalised(corpus: Path) -> None:
    text = _text(corpus, "pow_summary/cpu-project__CPU.pow.summary")
    scaled = (
        text.replace("148.10 mW", "0.14810 W")
        .replace("16.07 mW", "0.01607 W")
        .replace("43.04 mW", "0.04304 W")
        .replace("88.99 mW", "0.08899 W")
    )
    assert parse_text(scaled).power == parse_text(text).power


def test_percent_must_agree() -> None:
    text = "Fitter Status : Successful - Mon Jan  1 00:00:00 2024\nTotal pins : 88 / 344 ( 46 % )\n"
    with pytest.raises(ReportError, match="disagrees") as caught:
        parse_text(text, file="x.fit.summary")
    assert caught.value.line == 2 and caught.value.file == "x.fit.summary"


def test_below_one_percent_must_be_below_one_percent() -> None:
    text = (
        "Fitter Status : Successful - Mon Jan  1 00:00:00 2024\nTotal pins : 88 / 344 ( < 1 % )\n"
    )
    with pytest.raises(ReportError, match="< 1%"):
        parse_text(text)


def test_used_above_available_is_an_error() -> None:
    text = "Fitter Status : Successful - Mon Jan  1 00:00:00 2024\nTotal PLLs : 5 / 4 ( 125 % )\n"
    with pytest.raises(ReportError, match="exceeds available"):
        parse_text(text)


def test_duplicate_key_is_an_error(corpus: Path) -> None:
    text = _text(corpus, "fit_summary/agat-9__top.fit.summary") + "Total PLLs : 1 / 4 ( 25 % )\n"
    with pytest.raises(ReportError, match="stated twice") as caught:
        parse_text(text)
    assert caught.value.line == 17


def test_unknown_text_line_is_an_error(corpus: Path) -> None:
    text = _text(corpus, "fit_summary/agat-9__top.fit.summary").replace(
        "Timing Models : Final", "Timing Closure : Final"
    )
    with pytest.raises(ReportError) as caught:
        parse_text(text)
    assert caught.value.line == 7 and "NUMBER" in (caught.value.expected or "")


def test_negative_count_is_an_error() -> None:
    text = "Analysis & Synthesis Status : Successful - Mon Jan  1 00:00:00 2024\nTotal registers : -94\n"
    with pytest.raises(ReportError, match="negative"):
        parse_text(text)


def test_sta_summary_worst_over_all_corners(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/sta_summary/in-class-projects__top.sta.summary")
    timing = report.timing
    assert timing is not None
    assert timing.wns_ns == -24.858  # minus sign kept
    assert timing.whs_ns == -0.090  # the Fast 0C corner, not the first hold line (-0.019)
    assert timing.constraints_met is False
    assert [clock.name for clock in timing.clocks] == ["vga_control_module:inst|CLK_25M", "CLK"]
    assert all(clock.met is False for clock in timing.clocks)


def test_sta_summary_met(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/sta_summary/lab6__top.sta.summary")
    timing = report.timing
    assert timing is not None
    assert (timing.wns_ns, timing.whs_ns, timing.constraints_met) == (44.094, 0.182, True)
    assert [(clock.name, clock.met) for clock in timing.clocks] == [("altera_reserved_tck", True)]


def test_sta_summary_pro_corner_lines(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/sta_summary/opt4__top.sta.summary")
    assert report.timing is not None
    assert (report.timing.wns_ns, report.timing.whs_ns) == (-3.884, 0.0)
    assert report.timing.constraints_met is False


def test_sta_negative_minimum_pulse_width_fails_timing() -> None:
    text = (
        "------------\nTiming Analyzer Summary\n------------\n\n"
        "Type  : Slow 1200mV 85C Model Setup 'clk'\nSlack : 1.000\nTNS   : 0.000\n\n"
        "Type  : Slow 1200mV 85C Model Minimum Pulse Width 'clk'\nSlack : -0.500\nTNS   : -2.000\n\n"
        "------------\n"
    )
    report = parse_text(text)
    assert report.timing is not None
    assert report.timing.wns_ns == 1.0 and report.timing.constraints_met is False


def test_sta_tns_must_agree_with_slack() -> None:
    text = (
        "------------\nTiming Analyzer Summary\n------------\n\n"
        "Type  : Slow 1200mV 85C Model Setup 'clk'\nSlack : 1.000\nTNS   : -3.000\n\n------------\n"
    )
    with pytest.raises(ReportError, match="non-negative slack") as caught:
        parse_text(text)
    assert caught.value.line == 5


def test_fit_rpt_summary_table(corpus: Path) -> None:
    report = parse_file(corpus / "quartus/fit_rpt/decimal-counter-de2__top.fit.rpt")
    assert report.kind == "fit_rpt"
    assert (
        report.tool_version == "Quartus II 64-Bit 13.0.1 Build 232 06/12/2013 SP 1 SJ Web Edition"
    )
    assert (report.device, report.design, report.status) == ("EP2C35F672C6", "top", "ok")
    assert report.resources["le"] == ResourceCount(98, 33216)
    assert report.resources["ff"] == ResourceCount(62, None)
    assert report.resources["io"] == ResourceCount(61, 475)
    assert report.resources["memory_bits"] == ResourceCount(0, 483840)
    assert report.resources["dsp"] == ResourceCount(0, 70)
    assert report.resources["pll"] == ResourceCount(0, 4)


def test_fit_rpt_agrees_with_fit_summary(corpus: Path) -> None:
    rpt = parse_file(corpus / "quartus/fit_rpt/trex-runner-altera-de0__top.fit.rpt")
    summary = parse_file(corpus / "quartus/fit_summary/trex-runner-altera-de0__top.fit.summary")
    assert rpt.resources == summary.resources
    assert (rpt.device, rpt.design, rpt.tool_version) == (
        summary.device,
        summary.design,
        summary.tool_version,
    )


def test_fit_rpt_misaligned_row_is_an_error(corpus: Path) -> None:
    text = _text(corpus, "fit_rpt/decimal-counter-de2__top.fit.rpt")
    broken = text.replace(
        "; Total pins                         ;", "; Total pins                        ;", 1
    )
    with pytest.raises(ReportError, match="line up") as caught:
        parse_text(broken)
    assert (
        caught.value.line
        == text.split("\n").index(
            next(line for line in text.split("\n") if line.startswith("; Total pins "))
        )
        + 1
    )


def test_fit_rpt_sections_must_match_contents(corpus: Path) -> None:
    text = _text(corpus, "fit_rpt/decimal-counter-de2__top.fit.rpt")
    with pytest.raises(ReportError, match="contents list"):
        parse_text(text.replace("; Fitter Settings ", "; Fitter Options  ", 1))


def test_fit_rpt_message_section_holds_messages(corpus: Path) -> None:
    text = _text(corpus, "fit_rpt/decimal-counter-de2__top.fit.rpt")
    broken = text.replace("Info (119006): Selected device", "Selected device", 1)
    with pytest.raises(ReportError):
        parse_text(broken)
