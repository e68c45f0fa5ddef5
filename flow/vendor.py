"""Vendor build scripts: a Vivado batch Tcl and a Quartus ``quartus_sh -t`` project script.

Each script builds the design's board top from the RTL copied beside it, constrains the
clock, runs the full implementation and writes exactly the reports
``stochflow collect-synthesis`` reads (utilisation, power, timing). Activity from the
simulation makes the power figure real: a SAIF for Vivado (``read_saif``), a VCD for
Quartus's power analyser. Without activity the vendor's own vectorless defaults apply
and the report says so (its confidence level).

When ``vivado`` / ``quartus_sh`` is on PATH the script is run; otherwise the one command
to run it and the one command to ingest its reports are returned for the user.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from stochflow import __version__

from .cache import atomic_copy, atomic_write_text
from .design_file import DesignFile, load_design, validate_clock_mhz
from .errors import FlowError, UsageError
from .targets import Target, get_target
from .tool_step import StepResult, run_step

VIVADO_SCRIPT = "vivado_build.tcl"
VIVADO_XDC = "clock.xdc"
VIVADO_REPORTS = {
    "utilisation": "utilization.rpt",
    "timing": "timing_summary.rpt",
    "power": "power.rpt",
}
QUARTUS_SCRIPT = "quartus_build.tcl"
QUARTUS_OUTPUT = "output_files"
DEFAULT_VENDOR_TIMEOUT_S = 4 * 3600.0


@dataclass(frozen=True)
class VendorBuild:
    """A written vendor script, how to run it and how to ingest what it writes."""

    target: str
    tool: str  # vivado / quartus_sh
    out_dir: Path
    script: Path
    files: tuple[Path, ...]  # everything written (script, constraints, RTL copies)
    reports: dict[str, Path]  # collector role -> report path (utilisation, timing, power)
    run_argv: tuple[str, ...]  # run in out_dir
    collect_argv: tuple[str, ...]
    activity: Path | None = None
    ran: StepResult | None = field(default=None)

    @property
    def run_command(self) -> str:
        return f"cd {shlex.quote(str(self.out_dir))} && {shlex.join(self.run_argv)}"

    @property
    def collect_command(self) -> str:
        return shlex.join(self.collect_argv)


def emit(
    design_json: str | Path,
    target: str | Target,
    clock_mhz: float,
    out_dir: str | Path,
    *,
    activity: str | Path | None = None,
    saif_strip_path: str | None = None,
    vcd_instance: str | None = None,
) -> VendorBuild:
    """Write the vendor script for ``target`` into ``out_dir`` (RTL copied beside it).

    ``activity`` is a SAIF (Vivado) or VCD (Quartus) from simulating the design.
    ``saif_strip_path`` is the SAIF hierarchy prefix above the top module (Vivado
    ``read_saif -strip_path``); ``vcd_instance`` is the VCD's instance of the top
    (Quartus ``POWER_READ_INPUT_FILE``, default: the top itself).
    """
    resolved = target if isinstance(target, Target) else get_target(target)
    if resolved.is_open:
        raise UsageError(f"target {resolved.name} is built by the open flow (stochflow.flow.synth)")
    mhz = validate_clock_mhz(clock_mhz)
    design = load_design(design_json)
    if design.clock_port is None:
        raise UsageError(
            f"{design.path}: the manifest names no 1-bit input port 'clk'; "
            "the vendor scripts constrain that clock"
        )
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for source in design.sources:
        atomic_copy(source.path, out / source.name)
    activity_name = _copy_activity(activity, resolved, out)
    if resolved.flow == "vivado":
        return _vivado(design, resolved, mhz, out, activity_name, saif_strip_path)
    return _quartus(design, resolved, mhz, out, activity_name, vcd_instance)


def run_if_available(
    build: VendorBuild, *, timeout_s: float = DEFAULT_VENDOR_TIMEOUT_S
) -> VendorBuild:
    """Run the script when its tool is on PATH; the reports must then exist."""
    executable = shutil.which(build.tool)
    if executable is None:
        return build
    log = f"{build.tool}.out"
    step = run_step(build.tool, [executable, *build.run_argv[1:]], build.out_dir, log, timeout_s)
    if not step.ok:
        what = "timed out" if step.timed_out else f"exited with status {step.returncode}"
        raise FlowError(f"{build.tool} {what}; log: {build.out_dir / log}")
    missing = [str(path) for path in build.reports.values() if not path.is_file()]
    if missing:
        raise FlowError(f"{build.tool} finished but wrote no {', '.join(missing)}")
    return replace(build, ran=step)


def collect_argv(
    design: DesignFile, target: Target, reports: dict[str, Path], out: Path
) -> tuple[str, ...]:
    """The one command that ingests the reports into an observation."""
    return (
        "stochflow",
        "collect-synthesis",
        "--design",
        str(design.path.resolve()),
        "--target",
        target.name,
        "--utilisation",
        str(reports["utilisation"]),
        "--power",
        str(reports["power"]),
        "--timing",
        str(reports["timing"]),
        "--accuracy-score",
        "ACCURACY",
        "--out",
        str(out / "observation.json"),
    )


def _copy_activity(activity: str | Path | None, target: Target, out: Path) -> str | None:
    if activity is None:
        return None
    path = Path(activity)
    suffix = ".saif" if target.flow == "vivado" else ".vcd"
    if path.suffix.lower() != suffix:
        raise UsageError(
            f"{path}: {target.flow} takes activity as a {suffix} file, got {path.suffix or 'no suffix'}"
        )
    if not path.is_file():
        raise UsageError(f"{path}: activity file does not exist")
    name = f"activity{suffix}"
    atomic_copy(path, out / name)
    return name


def _header(design: DesignFile, target: Target, mhz: float, run: str) -> list[str]:
    return [
        f"# stochflow {__version__}: {target.flow} build of {design.name} "
        f"(design {design.design_hash[:16]}) for {target.name} ({target.part}) at {mhz:g} MHz.",
        f"# Run from this folder: {run}",
        "# Every path is relative to this folder.",
        "set here [file normalize [file dirname [info script]]]",
        "cd $here",
    ]


def _tcl_word(text: str) -> str:
    """A Tcl word in braces (no substitution); names were validated, this guards the rest."""
    if any(ch in text for ch in "{}\\\n"):
        raise UsageError(f"{text!r} cannot be written into a Tcl script")
    return "{" + text + "}"


def _period_ns(mhz: float) -> str:
    return f"{1000.0 / mhz:.3f}"


# -- Vivado -----------------------------------------------------------------------------


def _vivado(
    design: DesignFile,
    target: Target,
    mhz: float,
    out: Path,
    activity: str | None,
    strip_path: str | None,
) -> VendorBuild:
    run_argv = (
        "vivado", "-mode", "batch", "-source", VIVADO_SCRIPT, "-log", "vivado.log",
        "-journal", "vivado.jou",
    )  # fmt: skip
    clock = design.clock_port
    xdc = [
        f"# {mhz:g} MHz on the board top's clock input",
        f"create_clock -name {clock} -period {_period_ns(mhz)} [get_ports {clock}]",
    ]
    lines = _header(design, target, mhz, shlex.join(run_argv))
    lines += [
        "read_verilog [list " + " ".join(_tcl_word(s.name) for s in design.sources) + "]",
        f"read_xdc {VIVADO_XDC}",
        f"synth_design -top {design.top} -part {target.part}",
        "opt_design",
        "place_design",
        "route_design",
        "write_checkpoint -force routed.dcp",
        f"report_utilization -file {VIVADO_REPORTS['utilisation']}",
        f"report_timing_summary -max_paths 10 -file {VIVADO_REPORTS['timing']}",
    ]
    if activity is not None:
        strip = f" -strip_path {_tcl_word(strip_path)}" if strip_path else ""
        lines.append(f"read_saif{strip} {activity}")
    else:
        lines.append("# no SAIF given: report_power uses Vivado's vectorless defaults")
    lines.append(f"report_power -file {VIVADO_REPORTS['power']}")
    script = out / VIVADO_SCRIPT
    atomic_write_text(out / VIVADO_XDC, "\n".join(xdc) + "\n")
    atomic_write_text(script, "\n".join(lines) + "\n")
    reports = {role: out / name for role, name in VIVADO_REPORTS.items()}
    return VendorBuild(
        target=target.name,
        tool="vivado",
        out_dir=out,
        script=script,
        files=(script, out / VIVADO_XDC, *(out / s.name for s in design.sources)),
        reports=reports,
        run_argv=run_argv,
        collect_argv=collect_argv(design, target, reports, out),
        activity=out / activity if activity else None,
    )


# -- Quartus ----------------------------------------------------------------------------


def _quartus(
    design: DesignFile,
    target: Target,
    mhz: float,
    out: Path,
    activity: str | None,
    vcd_instance: str | None,
) -> VendorBuild:
    run_argv = ("quartus_sh", "-t", QUARTUS_SCRIPT)
    revision = design.top
    sdc_name = f"{revision}.sdc"
    clock = design.clock_port
    sdc = [
        f"# {mhz:g} MHz on the board top's clock input",
        f"create_clock -name {clock} -period {_period_ns(mhz)} [get_ports {clock}]",
        "derive_clock_uncertainty",
    ]
    lines = _header(design, target, mhz, shlex.join(run_argv))
    lines += [
        "load_package flow",
        f"project_new {revision} -revision {revision} -overwrite",
        f'set_global_assignment -name FAMILY "{target.vendor_family}"',
        f"set_global_assignment -name DEVICE {target.part}",
        f"set_global_assignment -name TOP_LEVEL_ENTITY {design.top}",
        *(f"set_global_assignment -name VERILOG_FILE {_tcl_word(s.name)}" for s in design.sources),
        f"set_global_assignment -name SDC_FILE {sdc_name}",
        f"set_global_assignment -name PROJECT_OUTPUT_DIRECTORY {QUARTUS_OUTPUT}",
        "set_global_assignment -name FLOW_ENABLE_POWER_ANALYZER ON",
        'set_global_assignment -name POWER_PRESET_COOLING_SOLUTION "23 MM HEAT SINK WITH 200 LFPM AIRFLOW"',
        'set_global_assignment -name POWER_BOARD_THERMAL_MODEL "NONE (CONSERVATIVE)"',
    ]
    if activity is not None:
        instance = vcd_instance or design.top
        lines += [
            "set_global_assignment -name POWER_USE_INPUT_FILES ON",
            f"set_global_assignment -name POWER_INPUT_FILE_NAME {activity} -section_id {activity}",
            f"set_instance_assignment -name POWER_READ_INPUT_FILE {activity} -to {_tcl_word(instance)}",
        ]
    else:
        lines.append("# no VCD given: the power analyser uses its vectorless defaults")
    lines += [
        "export_assignments",
        "execute_module -tool map",
        "execute_module -tool fit",
        "execute_module -tool sta",
        "execute_module -tool pow",
        "project_close",
    ]
    script = out / QUARTUS_SCRIPT
    atomic_write_text(out / sdc_name, "\n".join(sdc) + "\n")
    atomic_write_text(script, "\n".join(lines) + "\n")
    summaries = out / QUARTUS_OUTPUT
    reports = {
        "utilisation": summaries / f"{revision}.fit.summary",
        "timing": summaries / f"{revision}.sta.summary",
        "power": summaries / f"{revision}.pow.summary",
    }
    return VendorBuild(
        target=target.name,
        tool="quartus_sh",
        out_dir=out,
        script=script,
        files=(script, out / sdc_name, *(out / s.name for s in design.sources)),
        reports=reports,
        run_argv=run_argv,
        collect_argv=collect_argv(design, target, reports, out),
        activity=out / activity if activity else None,
    )
