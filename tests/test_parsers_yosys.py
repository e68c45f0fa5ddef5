"""Yosys stat: both text layouts, logs (last block wins), tee'd files and stat -json."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.parsers import ReportError, ResourceCount, parse_file, parse_text
from stochflow.parsers.common import read_report
from test_parsers_helpers import YOSYS_FIXTURES

STAT_HEADER = "4.47. Printing statistics.\n\n"


def test_old_layout_log(corpus: Path) -> None:
    report = parse_file(corpus / "yosys/stat_log/femtorvsoc__yosys.log")
    assert (report.tool, report.kind) == ("yosys", "stat")
    assert report.tool_version == "Yosys 0.33 (git sha1 2584903a060)"
    assert report.status == "ok"
    assert report.design == "soc_top"
    assert report.cells == 2566
    assert report.cells_by_type == {
        "SB_CARRY": 352,
        "SB_DFF": 134,
        "SB_DFFE": 236,
        "SB_DFFESR": 165,
        "SB_DFFESS": 18,
        "SB_DFFSR": 70,
        "SB_DFFSS": 1,
        "SB_HFOSC": 1,
        "SB_LUT4": 1576,
        "SB_RAM40_4K": 12,
        "SB_RGBA_DRV": 1,
    }
    assert report.resources["SB_LUT4"] == ResourceCount(1576, None)


def test_count_first_layout_last_block_wins(corpus: Path) -> None:
    """0.60 layout; the log holds two sections (12.49 inside synth, 13 after it)."""
    report = parse_file(corpus / "yosys/stat_log/sdram-controller__yosys.log")
    assert report.tool_version == "Yosys 0.60+59 (git sha1 31f355c59, clang++ 18.1.8 -fPIC -O3)"
    assert report.cells == 544
    assert report.cells_by_type == {
        "$_TBUF_": 16,
        "$scopeinfo": 3,
        "CCU2C": 25,
        "EHXPLLL": 1,
        "L6MUX21": 3,
        "LUT4": 264,  # the row's count, not the digit in "LUT4"
        "PFUMX": 24,
        "TRELLIS_FF": 208,
    }


def test_library_submodules_count_as_cells(corpus: Path) -> None:
    """Inside synth_lattice the primitives are modules: '20 cells' + '524 submodules'."""
    text = read_report(corpus / "yosys/stat_log/sdram-controller__yosys.log").text
    # the same log without its final "13. Printing statistics." section
    inside_synth = (
        text[: text.index("13. Printing statistics.")] + text[text.index("14. Executing JSON") :]
    )
    report = parse_text(inside_synth)
    assert report.status == "ok"
    assert report.cells == 544
    assert (
        report.cells_by_type
        == parse_file(corpus / "yosys/stat_log/sdram-controller__yosys.log").cells_by_type
    )


def test_design_hierarchy_totals(corpus: Path) -> None:
    report = parse_file(corpus / "yosys/stat_log/sck-projekt-indywidualny-pat__synth.log")
    assert report.design == "ALU_rtl"
    assert report.cells == 522
    assert report.cells_by_type == {
        "$_AND_": 216,
        "$_NOT_": 72,
        "$_OR_": 195,
        "$_SDFF_PN0_": 18,
        "$_XOR_": 21,
    }


def test_stat_tee_without_type_rows(corpus: Path) -> None:
    report = parse_file(corpus / "yosys/stat_tee/ml4accel-dataset__dla_like.medium.v.out")
    assert report.tool_version is None and report.status is None
    assert (report.design, report.cells) == ("DLA", 102)
    assert report.cells_by_type is None  # not stated, not an empty mapping


def test_fixture_text_and_json_agree() -> None:
    for stem in ("sc_pair_ice40", "sc_pair_generic"):
        text = parse_file(YOSYS_FIXTURES / f"{stem}_stat_tee.txt")
        data = parse_file(YOSYS_FIXTURES / f"{stem}_stat.json")
        assert (text.cells, text.cells_by_type, text.design) == (
            data.cells,
            data.cells_by_type,
            data.design,
        )
    assert data.tool_version is not None and data.tool_version.startswith("Yosys 0.70 ")


def test_fixture_hierarchy_expands_submodules() -> None:
    """top (23 cells + 2 x sng) and sng (44 cells): 111 cells, sng itself is not a cell."""
    report = parse_file(YOSYS_FIXTURES / "sc_pair_generic_cmos.log")
    assert report.design == "top"
    assert report.cells == 111
    assert report.cells_by_type is not None and "sng" not in report.cells_by_type
    assert sum(report.cells_by_type.values()) == 111
    assert report.cells_by_type["$_XNOR_"] == 21


def test_fixture_in_synth_statistics() -> None:
    """synth_ice40's own stat lists SB_* as submodules: '2 cells' + '77 submodules'."""
    report = parse_file(YOSYS_FIXTURES / "sc_pair_ice40_synth.log")
    assert report.tool_version is not None and report.tool_version.startswith("Yosys 0.70 ")
    assert report.cells == 79
    assert report.cells_by_type == {
        "$scopeinfo": 2,
        "SB_CARRY": 22,
        "SB_DFF": 2,
        "SB_DFFESR": 8,
        "SB_DFFSR": 14,
        "SB_DFFSS": 2,
        "SB_LUT4": 29,
    }


def test_fixture_area_column() -> None:
    report = parse_file(YOSYS_FIXTURES / "sc_pair_liberty_area.log")
    assert report.cells == 188
    assert report.cells_by_type == {"DFF": 26, "NAND": 48, "NOR": 80, "NOT": 34}


def test_fixture_json_in_log_is_the_last_block() -> None:
    report = parse_file(YOSYS_FIXTURES / "sc_pair_ice40_json_in_log.log")
    assert report.cells == 79 and report.cells_by_type is not None
    assert report.cells_by_type["SB_LUT4"] == 29


def test_stat_line_outside_a_section_is_an_error(corpus: Path) -> None:
    text = read_report(corpus / "yosys/stat_log/femtorvsoc__yosys.log").text
    with pytest.raises(ReportError) as caught:
        parse_text(text.replace("4.47. Printing statistics.", "4.47. Printing statistic."))
    assert caught.value.line == 3564  # the orphaned "=== soc_top ===" line


def test_damaged_row_is_an_error_not_a_lost_row(corpus: Path) -> None:
    text = read_report(corpus / "yosys/stat_log/femtorvsoc__yosys.log").text
    with pytest.raises(ReportError) as caught:
        parse_text(
            text.replace(
                "     SB_DFFE                       236", "     SB_DFFE                       2x6"
            )
        )
    assert caught.value.line == 3576


def test_rows_must_add_up_in_count_first_layout() -> None:
    text = (
        STAT_HEADER + "=== top ===\n\n        +----------Local Count, excluding submodules.\n"
        "        | \n       10 cells\n        4   LUT4\n        5   TRELLIS_FF\n\n"
    )
    with pytest.raises(ReportError, match="add up to 9, stated 10"):
        parse_text(text)


def test_duplicate_type_row_is_an_error() -> None:
    text = STAT_HEADER + "=== top ===\n\n   Number of cells:  3\n     LUT4  1\n     LUT4  2\n\n"
    with pytest.raises(ReportError, match="listed twice") as caught:
        parse_text(text)
    assert caught.value.line == 7


def test_several_modules_without_hierarchy_is_an_error() -> None:
    text = (
        STAT_HEADER
        + "=== a ===\n\n   Number of cells:  1\n     LUT4  1\n\n"
        + "=== b ===\n\n   Number of cells:  1\n     LUT4  1\n\n"
    )
    with pytest.raises(ReportError, match="no design hierarchy"):
        parse_text(text)


def test_log_cut_short_is_refused(corpus: Path) -> None:
    text = read_report(corpus / "yosys/stat_log/sdram-controller__yosys.log").text
    with pytest.raises(ReportError, match="End of script") as caught:
        parse_text(text[: text.index("12.50. Executing CHECK pass")])
    assert caught.value.line is not None


def test_error_in_log_is_a_failed_run() -> None:
    text = (
        "\n Yosys 0.33 (git sha1 2584903a060)\n\n1. Executing Verilog-2005 frontend: x.v\n"
        "ERROR: syntax error, unexpected TOK_ID\n"
    )
    report = parse_text(text)
    assert (report.status, report.status_text) == (
        "failed",
        "ERROR: syntax error, unexpected TOK_ID",
    )
    assert report.tool_version == "Yosys 0.33 (git sha1 2584903a060)"
    with pytest.raises(ReportError, match="no statistics"):
        parse_text(text.replace("ERROR: syntax error, unexpected TOK_ID\n", "End of script.\n"))
    with_stats = (
        STAT_HEADER + "=== top ===\n\n   Number of cells:  1\n     LUT4  1\n\n"
        "5. Executing JSON backend.\nERROR: Can't open output file\n"
    )
    report = parse_text(with_stats, kind="stat")
    assert report.status == "failed" and report.cells is None


def test_stat_file_cut_short_is_refused() -> None:
    text = (YOSYS_FIXTURES / "sc_pair_generic_stat_tee.txt").read_text()
    cut = text[: text.index("=== sng ===")].rstrip("\n") + "\n"  # only the top module is left
    with pytest.raises(ReportError, match="blank line"):
        parse_text(cut)


def test_count_first_cells_without_rows_is_an_error() -> None:
    text = (YOSYS_FIXTURES / "sc_pair_ice40_stat_tee.txt").read_text()
    cut = text[: text.index("        2   $scopeinfo")] + "\n"
    with pytest.raises(ReportError, match="add up to 0, stated 79"):
        parse_text(cut)


def test_json_duplicate_key_is_an_error() -> None:
    text = (YOSYS_FIXTURES / "sc_pair_ice40_stat.json").read_text()
    broken = text.replace('"SB_DFF": 2,', '"SB_DFF": 2,\n            "SB_DFF": 2,', 1)
    with pytest.raises(ReportError, match="duplicate key"):
        parse_text(broken)


def test_json_counts_must_add_up() -> None:
    text = (YOSYS_FIXTURES / "sc_pair_ice40_stat.json").read_text()
    with pytest.raises(ReportError, match="add up"):
        parse_text(text.replace('"SB_LUT4": 29', '"SB_LUT4": 28', 1))
