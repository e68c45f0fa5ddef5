"""Sweeps: every point of a knob grid generated, built and measured, in parallel.

``plan_sweep`` applies each grid point to the network spec and validates it (so a bad
combination is refused before any tool runs); ``run_sweep`` hands the points to an
:class:`~stochflow.flow.executors.Executor`. Each job (:func:`run_point`) generates
the point's RTL and builds it with :func:`stochflow.flow.synth.build`, which records
the observation, or the failed build with its reason and log, in the evidence store.

A build that fails (a tool exits non-zero, a step times out, the design does not fit,
routing fails) is a result, not an error: the sweep goes on. An interrupt stops the
running builds without writing half a record; everything already measured is in the
store's build cache, so running the same sweep again builds only what is missing.

Folders: ``OUT/<point>/design`` (generated RTL + design.json), ``OUT/<point>/<target>``
(the build), ``OUT/sweep.json`` (every point's outcome, written when the sweep ends or
is interrupted).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stochflow import __version__
from stochflow.hdl.errors import SpecError
from stochflow.hdl.network import Network
from stochflow.hdl.spec import NetworkSpec, load_spec
from stochflow.parsers.report import ReportError
from stochflow.surrogate.evidence import ObservationLoadError
from stochflow.surrogate.observation import Observation

from .cache import DirectoryCache, atomic_write_text
from .design_file import DESIGN_NAME, validate_clock_mhz
from .errors import FlowError, UsageError
from .executors import Executor
from .store import EvidenceStore
from .sweep_grid import ALL_COLUMNS, Grid, GridValue, parse_grid
from .synth import DEFAULT_STEP_TIMEOUT_S, BuildOptions, build
from .synth_result import BuildFailure, BuildResult
from .targets import get_target

__all__ = [
    "PointOutcome",
    "SweepPoint",
    "SweepReport",
    "SweepSettings",
    "apply_point",
    "plan_sweep",
    "run_point",
    "run_sweep",
]

SUMMARY_FILE = "sweep.json"
SUMMARY_SCHEMA = "stochflow.sweep/1"
DESIGN_FOLDER = "design"
StoreWrites = Literal["workers", "client"]
Status = Literal["built", "cached", "failed", "error"]
# Errors a job turns into an "error" outcome (the sweep goes on); anything else is a bug.
_JOB_ERRORS = (FlowError, UsageError, SpecError, ReportError, ObservationLoadError, OSError)


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: its folder name, the knob values that define it, its network."""

    label: str
    values: dict[str, str]  # axis name -> value as written in the grid
    network: Network

    @property
    def design_hash(self) -> str:
        return self.network.design_hash


@dataclass(frozen=True)
class SweepSettings:
    """What every point is built with."""

    target: str
    clock_mhz: float
    out_dir: Path
    store_path: Path
    step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S
    options: BuildOptions = field(default_factory=BuildOptions)
    network_file: str | None = None
    # "workers": each job writes the store itself (SQLite WAL: writers on one host).
    # "client": jobs keep a folder cache under OUT and the sweep process writes the store
    # (for clusters whose workers run on other hosts).
    store_writes: StoreWrites = "workers"

    @property
    def cache_dir(self) -> Path:
        return self.out_dir / ".build-cache"


@dataclass(frozen=True)
class PointOutcome:
    """What became of one point: built, answered from the cache, failed, or an error."""

    label: str
    values: dict[str, str]
    status: Status
    design_hash: str
    build_dir: str | None = None
    observation: Observation | None = None
    failure: BuildFailure | None = None
    cached: bool = False
    error: str | None = None
    seconds: float = 0.0  # wall time of the job: generation and build
    tool_seconds: float = 0.0  # of which inside Yosys, nextpnr and the packer

    @property
    def ok(self) -> bool:
        return self.status in ("built", "cached")

    def to_json(self) -> dict[str, Any]:
        return {
            "point": self.label,
            "values": dict(self.values),
            "status": self.status,
            "cached": self.cached,
            "design_hash": self.design_hash,
            "build_dir": self.build_dir,
            "observation": self.observation.to_json() if self.observation else None,
            "failure": self.failure.to_json() if self.failure else None,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "tool_seconds": round(self.tool_seconds, 3),
        }


@dataclass
class SweepReport:
    """Every outcome so far, and whether the sweep ran to its end."""

    target: str
    clock_mhz: float
    total: int
    outcomes: list[PointOutcome] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def missing(self) -> int:
        return self.total - len(self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SUMMARY_SCHEMA,
            "stochflow": __version__,
            "target": self.target,
            "clock_mhz": self.clock_mhz,
            "points": self.total,
            "counts": {
                status: self.count(status) for status in ("built", "cached", "failed", "error")
            },
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
        }


# --------------------------------------------------------------------------- planning


def plan_sweep(spec_path: str | Path, grid: str | Grid) -> list[SweepPoint]:
    """Every grid point applied to the spec, validated and quantised; nothing is built.

    A value that is wrong for this network (a layer it does not have, a seed wider than
    its source, two points that are one design) is a :class:`UsageError` naming the point.
    """
    spec = load_spec(spec_path)
    parsed = grid if isinstance(grid, Grid) else parse_grid(grid)
    _check_layers(parsed, spec)
    points: list[SweepPoint] = []
    seen: dict[str, str] = {}
    for index, values in enumerate(parsed.points()):
        label = _label(index, values)
        try:
            network = apply_point(spec, values).build()
        except SpecError as error:
            raise UsageError(f"--grid point {label}: {error}") from None
        earlier = seen.get(network.design_hash)
        if earlier is not None:
            raise UsageError(
                f"--grid points {earlier} and {label} are the same design "
                f"({network.design_hash[:12]}); drop one of the values"
            )
        seen[network.design_hash] = label
        points.append(SweepPoint(label, {k: v.text for k, v in values.items()}, network))
    return points


def _check_layers(grid: Grid, spec: NetworkSpec) -> None:
    names = [layer.name for layer in spec.layers]
    for axis in grid.axes:
        if axis.layer is None:
            continue
        if axis.layer not in names:
            raise UsageError(
                f"--grid {axis.name}: {spec.name} has no layer {axis.layer!r}; "
                f"its layers are {', '.join(names)}"
            )
        if axis.knob == "input_rng" and not spec.encodes(names.index(axis.layer)):
            raise UsageError(
                f"--grid {axis.name}: layer {axis.layer!r} does not encode inputs "
                f"({spec.architecture} architecture), so it has no input source"
            )


def _label(index: int, values: dict[str, GridValue]) -> str:
    """The point's folder name (``L-64_rng-sobol8_hidden.precision-4``), checked like a
    design name; a grid too wide for a readable name gets ``point-NNNN``."""
    label = "_".join(f"{name}-{value.text}" for name, value in values.items())
    if DESIGN_NAME.fullmatch(label):
        return label
    fallback = f"point-{index:04d}"
    assert DESIGN_NAME.fullmatch(fallback)
    return fallback


def apply_point(spec: NetworkSpec, values: dict[str, GridValue]) -> NetworkSpec:
    """``spec`` with one point's knobs: grid-wide knobs on every layer, then layer-scoped ones."""
    names = [layer.name for layer in spec.layers]
    knobs: list[dict[str, Any]] = [{} for _ in names]
    for scoped in (False, True):
        for name, value in values.items():
            layer, _, knob = name.rpartition(".")
            if bool(layer) != scoped:
                continue
            indices = [names.index(layer)] if scoped else range(len(names))
            for index in indices:
                _set_knob(knobs[index], knob, value.value, spec, index)
    for index, changes in enumerate(knobs):
        if changes:
            spec = spec.with_layer_knobs(index, **changes)
    return spec


def _set_knob(knobs: dict[str, Any], knob: str, value: Any, spec: NetworkSpec, index: int) -> None:
    if knob == "L":
        knobs["bitstream_length"] = value
    elif knob in ("precision", "weight_memory"):
        knobs[knob] = value
    elif knob == "folding":
        knobs["folding"] = spec.layers[index].columns if value == ALL_COLUMNS else value
    elif knob == "input_rng":
        if spec.encodes(index):
            knobs["input_rng"] = dict(value)
    else:
        source = knobs.setdefault("weight_rng", {})
        if knob == "rng":  # a kind (and width) replaces the one set before, as a pair
            source.pop("width", None)
            source.update(value)
        else:  # seed, decorrelation
            source[knob] = value


# --------------------------------------------------------------------------- one job


def run_point(point: SweepPoint, settings: SweepSettings) -> PointOutcome:
    """Generate and build one point (runs on a worker). Build failures are outcomes."""
    started = time.perf_counter()
    folder = settings.out_dir / point.label
    try:
        design = _generate(point.network, folder / DESIGN_FOLDER, settings.network_file)
        out = folder / settings.target
        if settings.store_writes == "workers":
            with EvidenceStore(settings.store_path) as store:
                result = _build(design, out, settings, store=store)
        else:
            result = _build(design, out, settings, cache=DirectoryCache(settings.cache_dir))
    except _JOB_ERRORS as error:
        return PointOutcome(
            point.label, point.values, "error", point.design_hash,
            error=str(error), seconds=time.perf_counter() - started,
        )  # fmt: skip
    return _outcome(point, result, time.perf_counter() - started)


def _build(design: Path, out: Path, settings: SweepSettings, **where: Any) -> BuildResult:
    return build(
        design, settings.target, settings.clock_mhz, out,
        step_timeout_s=settings.step_timeout_s, options=settings.options, **where,
    )  # fmt: skip


def _outcome(point: SweepPoint, result: BuildResult, seconds: float) -> PointOutcome:
    status: Status = "failed" if not result.ok else ("cached" if result.cached else "built")
    return PointOutcome(
        label=point.label,
        values=point.values,
        status=status,
        design_hash=result.design_hash,
        build_dir=result.out_dir,
        observation=result.observation,
        failure=result.failure,
        cached=result.cached,
        seconds=seconds,
        tool_seconds=0.0 if result.cached else result.tool_seconds,
    )


def _generate(network: Network, folder: Path, network_file: str | None) -> Path:
    """Generate the point's RTL and design.json (always: the build must measure what the
    generator makes now; an unchanged design gives the same bytes, so the build cache
    still answers it)."""
    from stochflow.hdl.generate import generate

    return generate(network, folder, network_file=network_file)


# --------------------------------------------------------------------------- the sweep


def run_sweep(
    points: list[SweepPoint],
    settings: SweepSettings,
    executor: Executor,
    *,
    on_outcome: Callable[[PointOutcome], None] | None = None,
) -> SweepReport:
    """Build every point through ``executor``; the report is also written to ``OUT/sweep.json``.

    On an interrupt the report so far is written (``interrupted: true``) and the
    interrupt is raised again once the executor has stopped its jobs.
    """
    with executor:
        mark = _prepare(settings)
        report = SweepReport(settings.target, settings.clock_mhz, len(points))
        started = time.perf_counter()
        by_label = {point.label: point for point in points}
        try:
            jobs = [executor.submit(run_point, point, settings, tag=point.label) for point in points]
            for completed in executor.as_completed(jobs):
                point = by_label[completed.tag]
                if completed.ok:
                    outcome = completed.result
                else:
                    outcome = PointOutcome(
                        point.label, point.values, "error", point.design_hash,
                        error=f"{type(completed.error).__name__}: {completed.error}",
                    )  # fmt: skip
                if settings.store_writes == "client":
                    _record(settings, outcome)
                report.outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
        except KeyboardInterrupt:
            report.interrupted = True
            if settings.store_writes != "client":
                executor.close(interrupt=True)  # every worker has stopped writing
                _recover_stored(report, points, settings, mark)
            raise
        finally:
            report.seconds = time.perf_counter() - started
            write_report(report, settings.out_dir / SUMMARY_FILE)
    return report


def _recover_stored(report: SweepReport, points: list[SweepPoint], settings: SweepSettings,
                    mark: int) -> None:
    """Points a worker built and stored whose result the interrupt kept from this process:
    the store is the record, so the report counts them as built too."""
    seen = {outcome.label for outcome in report.outcomes}
    missing = {point.design_hash: point for point in points if point.label not in seen}
    if not missing:
        return
    with EvidenceStore(settings.store_path) as store:
        added = store.observations(target=settings.target, after_id=mark)
    for observation in added:
        point = missing.pop(observation.design_hash, None)
        if point is not None:
            report.outcomes.append(PointOutcome(point.label, point.values, "built",
                                                point.design_hash, observation=observation))


def _prepare(settings: SweepSettings) -> int:
    """Refuse bad settings before any job starts; create the store once, before its writers.
    Returns the store's newest observation id (what this sweep adds comes after it)."""
    get_target(settings.target)
    validate_clock_mhz(settings.clock_mhz)
    if settings.out_dir.exists() and not settings.out_dir.is_dir():
        raise UsageError(f"{settings.out_dir}: exists and is not a folder")
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    with EvidenceStore(settings.store_path) as store:
        return store.last_id()


def _record(settings: SweepSettings, outcome: PointOutcome) -> None:
    """Client-side store writes: the observation, or a failure the first time it is seen."""
    with EvidenceStore(settings.store_path) as store:
        if outcome.observation is not None:
            store.add(outcome.observation)
        elif outcome.failure is not None and not outcome.cached:
            failure = outcome.failure
            store.add_failure(
                outcome.design_hash, settings.target, failure.step, failure.reason,
                failure.log_path,
            )  # fmt: skip


def write_report(report: SweepReport, path: Path) -> None:
    atomic_write_text(path, json.dumps(report.to_json(), indent=1, allow_nan=False) + "\n")

