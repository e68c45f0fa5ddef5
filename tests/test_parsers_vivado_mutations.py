"""Known ways report readers go wrong, each shown on a mutated copy of a real report.

Every broken input here is a real corpus file with one edit, so the rest of the report
is exactly what Vivado writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import vivado_hls_csynth, vivado_power, vivado_timing, vivado_utilization
from stochflow.parsers.report import ReportError
from test_parsers_vivado_helpers import line_of, mutated, real_text

FLAT = "utilization/ebaz4205__design_1_wrapper_utilization_placed.rpt"
HIER = "utilization_hier/chisel-checkers-vivado-build__ChiselCheckers_synth_utilization.txt"
POWER = "power/drcv1-0deliverableplatform__design_1_wrapper_power_routed.rpt"
TIMING_MET = "timing/sec-g5__design_1_wrapper_timing_summary_routed.rpt"
TIMING_FAILED = "timing/spartan-p3-scripting__post_synth_timing_summary.rpt"
HLS = "hls_csynth/pynq-test__add_csynth.rpt"

SLICE_LUTS_ROW = "| Slice LUTs              |    3 |     0 |          0 |     17600 |  0.02 |\n"
HIER_TOP_ROW = (
    "| ChiselCheckers     |        (top) |       1557 |       1557 |       0 |    0 | 407 |"
    "      0 |      0 |          0 |\n"
)
TOTAL_ROW = "| Total On-Chip Power (W)  | 2.277        |\n"
SPARTAN_VALUES = "      4.947        0.000                      0                21398"
SEC_G5_VALUES = "\n      2.123        0.000                      0                 3136"
HLS_TIMING_ROW = "|ap_clk  |  10.00 ns|  4.552 ns|     2.70 ns|"


# ------------------------------------------------------- header digits are not counts
def test_hierarchy_without_top_row_is_an_error_not_a_header_digit(corpus: Path) -> None:
    text = mutated(corpus, HIER, HIER_TOP_ROW, "")
    with pytest.raises(ReportError, match="no top-level instance row") as caught:
        vivado_utilization.parse(text, "hier.txt")
    assert caught.value.file == "hier.txt"
    assert caught.value.line == line_of(text, "|      Instance      |")


def test_flat_report_without_lut_row_does_not_fall_back_to_other_rows(corpus: Path) -> None:
    # "LUT as Logic", the Primitives' LUT1 and the distribution section all remain.
    text = mutated(corpus, FLAT, SLICE_LUTS_ROW, "")
    with pytest.raises(ReportError, match="has no Slice LUTs / CLB LUTs row") as caught:
        vivado_utilization.parse(text, "flat.rpt")
    assert caught.value.line == line_of(text, "1. Slice Logic\n-")


def test_unknown_hierarchy_column_is_an_error(corpus: Path) -> None:
    header = "| Total LUTs | Logic LUTs | LUTRAMs |"
    text = mutated(corpus, HIER, header, "| Total LUTs | LUT6 Count | LUTRAMs |")
    with pytest.raises(ReportError, match="not a valid Vivado utilization report") as caught:
        vivado_utilization.parse(text)
    assert caught.value.line == line_of(text, "LUT6 Count")


# ------------------------------------------------------- signs are kept
def test_negative_wns_and_tns_keep_their_sign(corpus: Path) -> None:
    text = mutated(
        corpus,
        TIMING_FAILED,
        SPARTAN_VALUES,
        "     -1.250      -37.500                     30                21398",
    )
    timing = vivado_timing.parse(text).timing
    assert timing is not None
    assert (timing.wns_ns, timing.tns_ns) == (-1.25, -37.5)
    assert (timing.whs_ns, timing.ths_ns) == (-0.165, -8.449)  # as in the real report
    assert timing.constraints_met is False


def test_negative_slack_with_no_failing_endpoint_is_contradictory(corpus: Path) -> None:
    text = mutated(
        corpus,
        TIMING_FAILED,
        SPARTAN_VALUES,
        "     -1.250      -37.500                      0                21398",
    )
    with pytest.raises(ReportError, match="TNS Failing Endpoints = 0 disagrees") as caught:
        vivado_timing.parse(text)
    assert caught.value.line == line_of(text, "-37.500")


# ------------------------------------------------------- missing total stays missing
def test_missing_total_on_chip_power_is_absent_not_dynamic(corpus: Path) -> None:
    text = mutated(corpus, POWER, TOTAL_ROW, "")
    power = vivado_power.parse(text).power
    assert power is not None
    assert power.total_w is None
    assert (power.dynamic_w, power.static_w) == (1.965, 0.311)
    assert "total_w" not in power.to_json()


def test_na_dynamic_power_is_absent_not_zero(corpus: Path) -> None:
    text = mutated(
        corpus,
        POWER,
        "| Dynamic (W)              | 1.965        |",
        "| Dynamic (W)              | NA           |",
    )
    power = vivado_power.parse(text).power
    assert power is not None
    assert power.dynamic_w is None and power.total_w == 2.277


def test_power_unit_is_read_from_the_label(corpus: Path) -> None:
    text = mutated(corpus, POWER, TOTAL_ROW, "| Total On-Chip Power (mW) | 2277.000     |\n")
    power = vivado_power.parse(text).power
    assert power is not None
    assert power.total_w == pytest.approx(2.277)


def test_total_that_is_not_dynamic_plus_static_is_an_error(corpus: Path) -> None:
    text = mutated(corpus, POWER, TOTAL_ROW, "| Total On-Chip Power (W)  | 2.977        |\n")
    with pytest.raises(ReportError, match="is not Dynamic") as caught:
        vivado_power.parse(text)
    assert caught.value.line == line_of(text, "2.977")


# ------------------------------------------------------- failed runs and failed timing
def test_failed_timing_is_constraints_not_met(corpus: Path) -> None:
    timing = vivado_timing.parse(real_text(corpus, TIMING_FAILED)).timing
    assert timing is not None and timing.constraints_met is False
    text = mutated(
        corpus,
        TIMING_MET,
        SEC_G5_VALUES + "        0.069",
        "\n     -0.311       -2.042                     12                 3136        0.069",
    )
    text = text.replace(
        "All user specified timing constraints are met.", "Timing constraints are not met."
    )
    timing = vivado_timing.parse(text).timing
    assert timing is not None
    assert timing.constraints_met is False and timing.wns_ns == -0.311


def test_verdict_met_with_failing_endpoints_is_an_error(corpus: Path) -> None:
    text = mutated(
        corpus,
        TIMING_FAILED,
        "Timing constraints are not met.",
        "All user specified timing constraints are met.",
    )
    with pytest.raises(ReportError, match="verdict says met"):
        vivado_timing.parse(text)


@pytest.mark.parametrize(
    ("relative", "module"),
    [
        (FLAT, vivado_utilization),
        (POWER, vivado_power),
        (TIMING_MET, vivado_timing),
        (HLS, vivado_hls_csynth),
    ],
)
def test_report_cut_short_by_a_dying_run_gives_no_numbers(
    corpus: Path, relative: str, module: object
) -> None:
    # Vivado writes these reports only for a step that completed, so none of the four
    # formats has a "failed" status line; what a failed run leaves is a partial file.
    text = real_text(corpus, relative)
    cut = text[: len(text) // 2]
    cut = cut[: cut.rindex("\n") - 3]  # end mid-line
    with pytest.raises(ReportError) as caught:
        module.parse(cut, "partial.rpt")  # type: ignore[attr-defined]
    assert caught.value.file == "partial.rpt"
    assert caught.value.line is not None


# ------------------------------------------------------- unknown lines in known tables
@pytest.mark.parametrize(
    ("relative", "module", "anchor", "column"),
    [
        (FLAT, vivado_utilization, "|   LUT as Logic          |    3 |", 1),
        (POWER, vivado_power, "| Dynamic (W)              | 1.965        |", 1),
        # A clock row starts with a name, so "an" is read as one and "unknown" is wrong.
        (TIMING_MET, vivado_timing, "clk_fpga_0  {0.000 5.000}", 4),
        (HLS, vivado_hls_csynth, "|Instance         |        0|", 1),
    ],
)
def test_unknown_line_inside_a_known_table(
    corpus: Path, relative: str, module: object, anchor: str, column: int
) -> None:
    text = mutated(corpus, relative, anchor, "an unknown line\n" + anchor)
    with pytest.raises(ReportError) as caught:
        module.parse(text, "edited.rpt")  # type: ignore[attr-defined]
    error = caught.value
    assert (error.file, error.line, error.column) == (
        "edited.rpt",
        line_of(text, "an unknown line"),
        column,
    )
    assert error.expected  # names what the grammar would have accepted
    assert "edited.rpt:" in str(error)


def test_malformed_cell_in_an_extracted_row(corpus: Path) -> None:
    text = mutated(corpus, FLAT, SLICE_LUTS_ROW, SLICE_LUTS_ROW.replace("   3 |", "  3k |"))
    with pytest.raises(ReportError, match="SITE_ROW_PROHIBITED") as caught:
        vivado_utilization.parse(text)
    assert caught.value.line == line_of(text, "3k |")


# ------------------------------------------------------- used / available / Util%
def test_util_percent_that_disagrees_is_an_error(corpus: Path) -> None:
    text = mutated(corpus, FLAT, SLICE_LUTS_ROW, SLICE_LUTS_ROW.replace("0.02", "0.20"))
    with pytest.raises(ReportError, match=r"stated 0.2% disagrees with 3/17600") as caught:
        vivado_utilization.parse(text)
    line = line_of(text, "|  0.20 |")
    assert (caught.value.line, caught.value.column) == (line, 70)


def test_used_above_available_is_an_error(corpus: Path) -> None:
    io_row = "| Bonded IOB                  |   16 |    16 |"
    text = mutated(corpus, FLAT, io_row, io_row.replace("|   16 |", "|  160 |", 1))
    with pytest.raises(ReportError, match="used 160 exceeds available 100") as caught:
        vivado_utilization.parse(text)
    assert caught.value.line == line_of(text, "|  160 |")


def test_hls_percent_is_checked_against_total_and_available(corpus: Path) -> None:
    row = "|Utilization (%)  |        0|    0|      ~0|     ~0|    0|"
    text = mutated(corpus, HLS, row, row.replace("     ~0|    0|", "      5|    0|"))
    with pytest.raises(ReportError, match="LUT: stated 5% disagrees with 271/53200"):
        vivado_hls_csynth.parse(text)


# ------------------------------------------------------- HLS units and unknowns
def test_hls_unknown_latency_is_absent(corpus: Path) -> None:
    text = mutated(
        corpus,
        HLS,
        "|        0|        0|      0 ns|      0 ns|",
        "|        ?|        ?|         ?|         ?|",
    )
    report = vivado_hls_csynth.parse(text)
    assert report.latency_cycles_min is None and report.latency_cycles_max is None
    assert "latency_cycles_min" not in report.to_json()


def test_hls_time_unit_from_the_older_heading(corpus: Path) -> None:
    # Vivado HLS up to 2019.1 prints "+ Timing (ns):" and bare numbers in the cells.
    text = mutated(corpus, HLS, HLS_TIMING_ROW, "|ap_clk  |  10.00|  4.552|     2.70|")
    text = text.replace("+ Timing: \n", "+ Timing (ns): \n", 1)
    report = vivado_hls_csynth.parse(text)
    assert report.timing is not None
    assert report.timing.clocks[0].period_ns == 10.0
    without_unit = mutated(corpus, HLS, HLS_TIMING_ROW, "|ap_clk  |  10.00|  4.552|     2.70|")
    with pytest.raises(ReportError, match="a time without a unit"):
        vivado_hls_csynth.parse(without_unit)


# ------------------------------------------------------- the report is one piece
def test_section_missing_from_table_of_contents_is_an_error(corpus: Path) -> None:
    text = mutated(corpus, FLAT, "4. DSP\n------", "4. DSPs\n-------")
    with pytest.raises(ReportError, match="not in the table of contents") as caught:
        vivado_utilization.parse(text)
    assert caught.value.line == line_of(text, "4. DSPs")
