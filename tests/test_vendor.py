"""Vendor scripts: complete, consistent, and valid Tcl (checked in a real Tcl interpreter).

Vivado and Quartus are not installed here, so each script is sourced by Tcl with every
vendor command recorded instead of run: Tcl itself checks the syntax, an undefined
command is an error, and a report command creates its output file so the test can see
that every report the collector needs lands where the printed commands say.
"""

from __future__ import annotations

import json
import os
import tkinter
from pathlib import Path

import pytest
from stochflow.flow.cli import build_parser, main
from stochflow.flow.errors import UsageError
from stochflow.flow.vendor import emit, run_if_available
from test_flow_synth_helpers import generated_design

VIVADO_COMMANDS = (
    "read_verilog", "read_xdc", "synth_design", "opt_design", "place_design", "route_design",
    "write_checkpoint", "report_utilization", "report_timing_summary", "read_saif", "report_power",
)  # fmt: skip
QUARTUS_COMMANDS = (
    "load_package", "project_new", "set_global_assignment", "set_instance_assignment",
    "export_assignments", "execute_module", "project_close",
)  # fmt: skip
RECORDER = r"""
set ::calls {}
proc unknown {args} { error "undefined command: [lindex $args 0]" }
proc record {args} {
    lappend ::calls $args
    set at [lsearch -exact $args -file]
    if {$at >= 0} { close [open [lindex $args [expr {$at + 1}]] w] }
}
"""
QUARTUS_OUTPUTS = r"""
proc project_new {name args} { lappend ::calls [list project_new $name {*}$args]; set ::rev $name }
proc set_global_assignment {args} {
    lappend ::calls [list set_global_assignment {*}$args]
    if {[lindex $args 1] eq "PROJECT_OUTPUT_DIRECTORY"} { set ::outdir [lindex $args 2] }
}
proc execute_module {flag tool} {
    lappend ::calls [list execute_module $flag $tool]
    file mkdir $::outdir
    close [open [file join $::outdir "$::rev.$tool.summary"] w]
}
"""


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_design(tmp_path_factory.mktemp("vendor") / "design")


def source_recorded(script: Path, commands: tuple[str, ...], extra: str = "") -> list[list[str]]:
    """Source ``script`` in Tcl with ``commands`` recorded; the calls in order."""
    tcl = tkinter.Tcl()
    tcl.eval(RECORDER)
    for command in commands:
        tcl.eval(f"proc {command} {{args}} {{ record {command} {{*}}$args }}")
    tcl.eval(extra)
    before = os.getcwd()
    try:
        tcl.eval(f"source {{{script}}}")
    finally:
        os.chdir(before)
    return [list(tcl.splitlist(call)) for call in tcl.splitlist(tcl.eval("set ::calls"))]


def _collect_args(argv: tuple[str, ...]) -> dict[str, str]:
    parsed = build_parser().parse_args(list(argv[1:]))  # the real collect-synthesis parser
    return {"design": str(parsed.design), "target": parsed.target, "utilisation": str(parsed.utilisation), "power": str(parsed.power), "timing": str(parsed.timing), "out": str(parsed.out)}  # fmt: skip


def test_vivado_script_is_complete(design: Path, tmp_path: Path) -> None:
    saif = tmp_path / "sim.saif"
    saif.write_text("(SAIFILE)\n")
    written = emit(design, "xc7a35t", 50.0, tmp_path / "vivado", activity=saif, saif_strip_path="TOP/sc_board")
    out = written.out_dir
    for name in ("sc_network.v", "sc_board.v"):
        assert (out / name).read_bytes() == (design.parent / name).read_bytes()
    calls = source_recorded(written.script, VIVADO_COMMANDS)
    names = [call[0] for call in calls]
    assert names == [
        "read_verilog", "read_xdc", "synth_design", "opt_design", "place_design", "route_design",
        "write_checkpoint", "report_utilization", "report_timing_summary", "read_saif", "report_power",
    ]  # fmt: skip
    assert calls[0][1:] == ["sc_network.v sc_board.v"]
    assert calls[2][1:] == ["-top", "sc_board", "-part", "xc7a35ticsg324-1L"]
    assert calls[9][1:] == ["-strip_path", "TOP/sc_board", "activity.saif"]
    assert (out / "activity.saif").read_bytes() == saif.read_bytes()
    xdc = (out / "clock.xdc").read_text()
    assert "create_clock -name clk -period 20.000 [get_ports clk]" in xdc
    for path in written.reports.values():  # written where the collector will look
        assert path.is_file() and path.parent == out
    args = _collect_args(written.collect_argv)
    assert args["design"] == str(design.resolve())
    assert args["target"] == "xc7a35t"
    assert args["utilisation"] == str(out / "utilization.rpt")
    assert args["power"] == str(out / "power.rpt")
    assert args["timing"] == str(out / "timing_summary.rpt")
    assert written.run_argv[:5] == ("vivado", "-mode", "batch", "-source", "vivado_build.tcl")


def test_vivado_without_activity_reports_vectorless_power(design: Path, tmp_path: Path) -> None:
    written = emit(design, "xc7a35t", 100.0, tmp_path / "v")
    names = [call[0] for call in source_recorded(written.script, VIVADO_COMMANDS)]
    assert "read_saif" not in names and names[-1] == "report_power"
    assert "-period 10.000" in (written.out_dir / "clock.xdc").read_text()


@pytest.mark.parametrize(("target", "family", "part"), [("5csema5", "Cyclone V", "5CSEMA5F31C6"), ("10cl025", "Cyclone 10 LP", "10CL025YU256C8G")])
def test_quartus_script_is_complete(design: Path, tmp_path: Path, target: str, family: str, part: str) -> None:
    vcd = tmp_path / "sim.vcd"
    vcd.write_text("$timescale 1ns $end\n")
    written = emit(design, target, 40.0, tmp_path / target, activity=vcd)
    calls = source_recorded(written.script, QUARTUS_COMMANDS, QUARTUS_OUTPUTS)
    assignments = {tuple(call[2:4]) for call in calls if call[0] == "set_global_assignment"}
    assert ("FAMILY", family) in assignments and ("DEVICE", part) in assignments
    assert ("TOP_LEVEL_ENTITY", "sc_board") in assignments
    assert ("VERILOG_FILE", "sc_network.v") in assignments and ("VERILOG_FILE", "sc_board.v") in assignments
    assert ("SDC_FILE", "sc_board.sdc") in assignments
    assert ("POWER_USE_INPUT_FILES", "ON") in assignments
    assert ("POWER_INPUT_FILE_NAME", "activity.vcd") in assignments
    instance = [call for call in calls if call[0] == "set_instance_assignment"]
    assert instance == [["set_instance_assignment", "-name", "POWER_READ_INPUT_FILE", "activity.vcd", "-to", "sc_board"]]
    modules = [call[2] for call in calls if call[0] == "execute_module"]
    assert modules == ["map", "fit", "sta", "pow"]
    assert [call[0] for call in calls][-1] == "project_close"
    for path in written.reports.values():
        assert path.is_file()
    args = _collect_args(written.collect_argv)
    assert args["target"] == target
    assert args["utilisation"].endswith("output_files/sc_board.fit.summary")
    assert args["timing"].endswith("output_files/sc_board.sta.summary")
    assert args["power"].endswith("output_files/sc_board.pow.summary")
    sdc = (written.out_dir / "sc_board.sdc").read_text()
    assert "create_clock -name clk -period 25.000 [get_ports clk]" in sdc
    assert written.run_argv == ("quartus_sh", "-t", "quartus_build.tcl")


def test_activity_of_the_wrong_kind_is_refused(design: Path, tmp_path: Path) -> None:
    vcd = tmp_path / "sim.vcd"
    vcd.write_text("")
    with pytest.raises(UsageError, match=r"vivado takes activity as a \.saif file"):
        emit(design, "xc7a35t", 50.0, tmp_path / "v", activity=vcd)
    with pytest.raises(UsageError, match="open flow"):
        emit(design, "ice40-up5k", 50.0, tmp_path / "v")


@pytest.mark.skipif(any((Path(p) / "vivado").exists() for p in os.environ.get("PATH", "").split(os.pathsep)), reason="vivado is installed: the script would run")
def test_cli_without_vivado_prints_the_two_commands(design: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "arty"
    argv = ["synth", "--design", str(design), "--target", "xc7a35t", "--clock-mhz", "50", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0] == f"cd {out.resolve()} && vivado -mode batch -source vivado_build.tcl -log vivado.log -journal vivado.jou"
    assert printed[1].startswith("stochflow collect-synthesis --design ")
    assert len(printed) == 2
    written = emit(design, "xc7a35t", 50.0, out)
    assert run_if_available(written).ran is None
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "script" and payload["collect"] == printed[1]
