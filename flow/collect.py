"""Join a design with the reports of its build into one observation (``collect-synthesis``).

Inputs: ``design.json`` (which design: hash, name, architecture, layers, latency) and
the tool reports of one build in three slots: utilisation (Vivado utilization, Quartus
fit/map summary or fit report, Yosys stat, nextpnr report or log), power (Vivado power,
Quartus pow.summary) and timing (Vivado timing summary, Quartus sta.summary, nextpnr
log or report, icetime). Each report is parsed by :mod:`stochflow.parsers` and must
belong in its slot.

Rules, because the surrogate trusts what comes out:

- a run that failed is an error and gives no observation;
- failed timing is kept (``met: false``), never dropped;
- a parsed figure is never overwritten by design metadata or a flag: ``design.json``'s
  latency is used only when no report states one, and a flag or manifest that
  contradicts a report is an error;
- reports of one build must agree on device, design and tool version;
- energy per inference is computed only when power, clock and inferences per run are
  all known; otherwise it is absent.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stochflow.parsers.report import Report, ReportError
from stochflow.surrogate.evidence import (
    ObservationLoadError,
    load_observations,
    observations_from_payload,
    payload_from_observations,
    utc_now,
    write_payload,
)
from stochflow.surrogate.observation import (
    BuildConditions,
    ClockFigure,
    Figure,
    Observation,
    PowerFigure,
    TimingFigure,
)

from . import report_resources
from .errors import FlowError, UsageError
from .targets import TARGETS, Target

__all__ = [
    "ACCURACY_SOURCE",
    "SLOTS",
    "CollectError",
    "ObservationLoadError",
    "build_observation",
    "build_payload_from_reports",
    "load_observations",
    "observations_from_payload",
    "parse_accuracy",
    "read_slot",
    "write_payload",
]

DESIGN_SCHEMA = "stochflow.design/1"
ACCURACY_SOURCE = "user:accuracy-score"
LATENCY_DESIGN_SOURCE = "design:latency"
LATENCY_USER_SOURCE = "user:latency-cycles"
ENERGY_SOURCE = "derived:power-latency-clock"

# The parsers' role each slot asks for (stochflow.parsers.api.ROLES says which kinds fill it).
SLOTS: dict[str, str] = {"utilisation": "utilization", "power": "power", "timing": "timing"}
_SLOT_FLAGS = {"utilisation": "--utilisation", "power": "--power", "timing": "--timing"}
_TARGET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CollectError(FlowError):
    """A report states that its run failed: there is nothing to observe."""

    def __init__(self, message: str, report: Report) -> None:
        self.report = report
        super().__init__(message)


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class DesignIdentity:
    """What an observation takes from ``design.json``: identity and metadata, never figures."""

    file: str | None
    sha256: str | None
    design_hash: str
    name: str
    architecture: str
    layers: tuple[dict[str, Any], ...]
    latency_cycles: int | None
    tops: tuple[str, ...]  # module names a report of this design may state


def read_design(design: str | os.PathLike[str] | Mapping[str, Any]) -> DesignIdentity:
    """The identity fields of a design manifest (a path or its parsed content)."""
    if isinstance(design, Mapping):
        file, digest, data = None, None, design
    else:
        file = str(design)
        try:
            raw = Path(design).read_bytes()
        except OSError as error:
            raise UsageError(f"{file}: cannot read design manifest: {error.strerror}") from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            where = (
                f":{error.lineno}:{error.colno}" if isinstance(error, json.JSONDecodeError) else ""
            )
            raise UsageError(f"{file}{where}: design manifest is not valid JSON") from None
        digest = hashlib.sha256(raw).hexdigest()
    where = file or "design manifest"

    def fail(field: str, expected: str, value: Any = None) -> UsageError:
        shown = "missing" if field not in data else f"got {value!r}"
        return UsageError(f"{where}: {field}: expected {expected}, {shown}")

    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: expected a JSON object")
    if data.get("schema") != DESIGN_SCHEMA:
        raise fail("schema", repr(DESIGN_SCHEMA), data.get("schema"))
    design_hash = data.get("design_hash")
    if not isinstance(design_hash, str) or not _SHA256.fullmatch(design_hash):
        raise fail("design_hash", "a sha256 as 64 lower-case hex digits", design_hash)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise fail("name", "a non-empty string", name)
    architecture = data.get("architecture")
    if architecture not in ("stream", "regenerate"):
        raise fail("architecture", "stream or regenerate", architecture)
    layers = data.get("layers")
    if (
        not isinstance(layers, list)
        or not layers
        or not all(isinstance(x, Mapping) for x in layers)
    ):
        raise fail("layers", "a non-empty list of layer objects", layers)
    latency = data.get("latency_cycles")
    if latency is not None and (
        isinstance(latency, bool) or not isinstance(latency, int) or latency < 1
    ):
        raise fail("latency_cycles", "a whole number of cycles ≥ 1", latency)
    tops = [data.get("top")]
    board = data.get("board")
    if isinstance(board, Mapping):
        tops.append(board.get("top"))
    return DesignIdentity(
        file=file,
        sha256=digest,
        design_hash=design_hash,
        name=name,
        architecture=architecture,
        layers=tuple(dict(layer) for layer in layers),
        latency_cycles=latency,
        tops=tuple(top for top in tops if isinstance(top, str) and top),
    )


# --------------------------------------------------------------------------- reports


def _parser_api() -> Any:
    try:
        from stochflow.parsers import api
    except ModuleNotFoundError as error:
        if error.name == "stochflow.parsers.api":
            raise FlowError(
                "the report parsers (stochflow.parsers.api) are not installed"
            ) from None
        raise
    return api


def read_slot(slot: str, report: str | os.PathLike[str] | Report) -> Report:
    """Parse one report (if given as a path) and check that it belongs in ``slot``."""
    flag = _SLOT_FLAGS[slot]
    if not isinstance(report, Report):
        path = Path(report)
        if not path.is_file():
            raise UsageError(f"{flag}: {path}: no such file")
        report = _parser_api().parse_file(path)
    check_slot(slot, report)
    if report.status == "failed":
        detail = f": {report.status_text}" if report.status_text else ""
        raise CollectError(
            f"{report.file or flag}: the {report.tool} run failed{detail}; no observation recorded",
            report,
        )
    return report


def check_slot(slot: str, report: Report) -> None:
    """A report in the wrong slot is a usage error naming both what it is and what was wanted."""
    try:
        _parser_api().check_slot(report, SLOTS[slot])
    except ReportError as error:
        raise UsageError(f"{_SLOT_FLAGS[slot]}: {error}") from None


def _version_token(version: str) -> str:
    """The release number in a printed version (``Vivado v.2017.2 (win64) …`` → ``2017.2``)."""
    found = re.search(r"\d+(?:\.\d+)+(?:std(?:\.\d+)?)?", version)
    return found.group(0) if found else version.strip()


def _normal_device(device: str) -> str:
    text = re.sub(r"[\s_-]", "", device).casefold()
    return text.removeprefix("xc")


def _same_device(a: str, b: str) -> bool:
    """Devices agree when one spelling extends the other (``7z020-clg400`` ⊂ ``xc7z020clg400-1``)."""
    x, y = _normal_device(a), _normal_device(b)
    return x.startswith(y) or y.startswith(x)


def _check_agreement(reports: list[tuple[str, Report]]) -> None:
    """Reports of one build must name one device, one design and one version of each tool."""
    for field in ("device", "design"):
        stated = [(slot, r) for slot, r in reports if getattr(r, field)]
        for slot, report in stated[1:]:
            first_slot, first = stated[0]
            a, b = getattr(first, field), getattr(report, field)
            same = _same_device(a, b) if field == "device" else a == b
            if not same:
                raise UsageError(
                    f"{_SLOT_FLAGS[slot]} {report.file} states {field} {b!r} but "
                    f"{_SLOT_FLAGS[first_slot]} {first.file} states {a!r}: not one build"
                )
    versions: dict[str, tuple[str, Report]] = {}
    for slot, report in reports:
        if report.tool_version is None:
            continue
        earlier = versions.setdefault(report.tool, (slot, report))
        if _version_token(earlier[1].tool_version or "") != _version_token(report.tool_version):
            raise UsageError(
                f"{_SLOT_FLAGS[slot]} {report.file} is from {report.tool} "
                f"{report.tool_version!r} but {_SLOT_FLAGS[earlier[0]]} {earlier[1].file} is "
                f"from {earlier[1].tool_version!r}: not one build"
            )


# --------------------------------------------------------------------------- figures


def parse_accuracy(score: float | str) -> float:
    """An accuracy score as a fraction in [0, 1].

    Rule: ``A%`` is a percentage (0–100 %); a bare number in [0, 1] is a fraction; a
    bare number above 1 and up to 100 is a percentage. Anything else is an error.
    """
    text = str(score).strip()
    percent = text.endswith("%")
    try:
        value = float(text.removesuffix("%").strip()) if isinstance(score, str) else float(score)
    except ValueError:
        raise UsageError(f"--accuracy-score: expected a number, got {score!r}") from None
    if isinstance(score, bool) or not math.isfinite(value) or value < 0:
        raise UsageError(
            f"--accuracy-score: expected a fraction 0–1 or a percentage, got {score!r}"
        )
    if percent or value > 1:
        if value > 100:
            raise UsageError(f"--accuracy-score: {score!r} is above 100 %")
        return value / 100
    return value


def _latency(
    design: DesignIdentity, reports: list[tuple[str, Report]], latency_cycles: int | None
) -> Figure:
    if latency_cycles is not None and (
        isinstance(latency_cycles, bool)
        or not isinstance(latency_cycles, int)
        or latency_cycles < 1
    ):
        raise UsageError(f"--latency-cycles: expected a whole number ≥ 1, got {latency_cycles!r}")
    where = design.file or "design manifest"
    if (
        latency_cycles is not None
        and design.latency_cycles is not None
        and latency_cycles != design.latency_cycles
    ):
        raise UsageError(
            f"--latency-cycles {latency_cycles} contradicts {where}: latency_cycles "
            f"{design.latency_cycles}"
        )
    for slot, report in reports:
        low, high = report.latency_cycles_min, report.latency_cycles_max
        if low is None and high is None:
            continue
        low, high = (low if low is not None else high), (high if high is not None else low)
        assert low is not None and high is not None
        for given, what in ((design.latency_cycles, where), (latency_cycles, "--latency-cycles")):
            if given is not None and not low <= given <= high:
                stated = f"{low}" if low == high else f"{low}–{high}"
                raise UsageError(
                    f"{what} says {given} cycles but {_SLOT_FLAGS[slot]} {report.file} "
                    f"states a latency of {stated}"
                )
        if low == high:
            return Figure(low, report_resources.SOURCES[report.tool])
    if design.latency_cycles is not None:
        return Figure(design.latency_cycles, LATENCY_DESIGN_SOURCE)
    if latency_cycles is not None:
        return Figure(latency_cycles, LATENCY_USER_SOURCE)
    raise UsageError(f"{where} states no latency_cycles and no report does; give --latency-cycles")


def _power(report: Report | None) -> PowerFigure | None:
    if report is None:
        return None
    stated = report.power
    if stated is None or stated.total_w is None:
        raise ReportError("the power report states no total power", file=report.file)
    return PowerFigure(
        total_w=stated.total_w,
        source=report_resources.SOURCES[report.tool],
        dynamic_w=stated.dynamic_w,
        static_w=stated.static_w,
    )


def _timing(report: Report | None) -> tuple[tuple[ClockFigure, ...], TimingFigure | None]:
    if report is None or report.timing is None:
        return (), None
    source = report_resources.SOURCES[report.tool]
    timing = report.timing
    clocks = []
    for clock in timing.clocks:
        met = clock.met
        if met is None and clock.fmax_mhz is not None and clock.constraint_mhz is not None:
            met = clock.fmax_mhz >= clock.constraint_mhz
        if met is None and timing.constraints_met is True and clock.constraint_mhz is not None:
            met = True  # "all user specified timing constraints are met" covers every clock
        if clock.fmax_mhz is None and met is None:
            continue  # a period or constraint alone measures nothing
        clocks.append(ClockFigure(clock.name, clock.fmax_mhz, source, clock.constraint_mhz, met))
    if not clocks and timing.fmax_mhz is not None:  # one design-wide figure (icetime)
        clocks.append(ClockFigure("design", timing.fmax_mhz, source))
    met = timing.constraints_met
    if met is None and any(s is not None and s < 0 for s in (timing.wns_ns, timing.whs_ns)):
        met = False
    figure = TimingFigure(
        source=source,
        met=met,
        wns_ns=timing.wns_ns,
        tns_ns=timing.tns_ns,
        whs_ns=timing.whs_ns,
        ths_ns=timing.ths_ns,
    )
    return tuple(clocks), (figure if len(figure.to_json()) > 1 else None)


def _registered_target(target: str | None, device: str | None) -> Target | None:
    if target is not None:
        return TARGETS.get(target)
    if device is None:
        return None
    matches = [
        t
        for t in TARGETS.values()
        if _same_device(t.device, device) or _same_device(t.part, device)
    ]
    return matches[0] if len(matches) == 1 else None


def target_and_device(
    target: str | None, reports: list[tuple[str, Report]]
) -> tuple[str, str, Target | None]:
    """(target name, device as stated, registered target or None) for these reports.

    ``--target`` wins; without it, the registered target whose device the reports name,
    else the stated device in lower case. A registered target must match the device.
    """
    # The most complete spelling the reports give (``xc7z020clg400-1`` over ``7z020-clg400``).
    spellings = [report.device for _, report in reports if report.device]
    stated = max(spellings, key=len) if spellings else None
    registered = _registered_target(target, stated)
    if target is not None and not _TARGET_NAME.fullmatch(target):
        raise UsageError(
            f"--target: expected a lower-case name (letters, digits, . _ -), got {target!r}"
        )
    if (
        registered is not None
        and stated is not None
        and not _same_device(registered.device, stated)
    ):
        raise UsageError(
            f"--target {registered.name} is a {registered.part}, but the reports are for {stated}"
        )
    if stated is None:
        if registered is None:
            raise UsageError(
                "no report states the device; give --target with a registered target "
                f"({', '.join(TARGETS)})"
            )
        stated = registered.device_label
    name = target or (registered.name if registered else _normal_target(stated))
    return name, stated, registered


def _normal_target(device: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", device.strip().casefold()).strip("-.")


# --------------------------------------------------------------------------- the join


def build_observation(
    design: str | os.PathLike[str] | Mapping[str, Any],
    utilisation: str | os.PathLike[str] | Report,
    power: str | os.PathLike[str] | Report | None,
    timing: str | os.PathLike[str] | Report | None = None,
    *,
    accuracy_score: float | str,
    latency_cycles: int | None = None,
    clock_mhz: float | None = None,
    inferences_per_run: int | None = None,
    target: str | None = None,
    accuracy_source: str = ACCURACY_SOURCE,
    created_utc: str | None = None,
) -> Observation:
    """One checked observation from a design manifest and its build's reports."""
    identity = read_design(design)
    reports: list[tuple[str, Report]] = [("utilisation", read_slot("utilisation", utilisation))]
    if power is not None:
        reports.append(("power", read_slot("power", power)))
    if timing is not None:
        reports.append(("timing", read_slot("timing", timing)))
    by_slot = dict(reports)
    _check_agreement(reports)
    _check_design_name(reports, identity)
    target_name, device, registered = target_and_device(target, reports)

    utilisation_report = by_slot["utilisation"]
    others = [report for slot, report in reports if slot != "utilisation"]
    resources = report_resources.canonical_resources(utilisation_report, others, registered)

    timing_report = by_slot.get("timing")
    if timing_report is None and utilisation_report.timing is not None:
        timing_report = utilisation_report  # a nextpnr log states both; keep what it says
    clocks, timing_figure = _timing(timing_report)
    power_figure = _power(by_slot.get("power"))
    latency = _latency(identity, reports, latency_cycles)
    accuracy = Figure(parse_accuracy(accuracy_score), accuracy_source)
    energy = _energy(power_figure, latency, clock_mhz, inferences_per_run, clocks)

    tools: dict[str, str | None] = {}
    for _, report in reports:
        if tools.get(report.tool) is None:
            tools[report.tool] = report.tool_version
    provenance = {"design_json": identity.sha256} if identity.sha256 else {}
    for slot, report in reports:
        digest = report.sha256 or _file_sha256(report.file)
        if digest:
            provenance[slot] = digest
    observation = Observation(
        design_hash=identity.design_hash,
        design_name=identity.name,
        architecture=identity.architecture,
        layers=identity.layers,
        target=target_name,
        device=device,
        tools=tools,
        latency_cycles=latency,
        resources=resources,
        clocks=clocks,
        timing=timing_figure,
        power=power_figure,
        accuracy=accuracy,
        energy_per_inference_j=energy,
        provenance=provenance,
        created_utc=created_utc or utc_now(),
        build=_build_conditions(clocks),
    )
    try:
        (checked,) = observations_from_payload(payload_from_observations([observation]))
    except ObservationLoadError as error:
        raise UsageError(
            f"the observation built from {identity.file or 'the design'}: {error}"
        ) from None
    return checked


def build_payload_from_reports(
    design: str | os.PathLike[str] | Mapping[str, Any],
    utilisation: str | os.PathLike[str] | Report,
    power: str | os.PathLike[str] | Report | None,
    timing: str | os.PathLike[str] | Report | None = None,
    *,
    accuracy_score: float | str,
    latency_cycles: int | None = None,
    clock_mhz: float | None = None,
    inferences_per_run: int | None = None,
    target: str | None = None,
    accuracy_source: str = ACCURACY_SOURCE,
    created_utc: str | None = None,
) -> dict[str, Any]:
    """A ``stochflow.observations/1`` payload holding the one observation of this build."""
    observation = build_observation(
        design,
        utilisation,
        power,
        timing,
        accuracy_score=accuracy_score,
        latency_cycles=latency_cycles,
        clock_mhz=clock_mhz,
        inferences_per_run=inferences_per_run,
        target=target,
        accuracy_source=accuracy_source,
        created_utc=created_utc,
    )
    return payload_from_observations([observation])


def _build_conditions(clocks: tuple[ClockFigure, ...]) -> BuildConditions | None:
    """The clock constraint the timing report states (the tightest, with several clocks).

    Reports do not state the placer seed or the flow's options, so those stay unstated;
    without a stated constraint there are no build conditions to record.
    """
    constraints = [clock.constraint_mhz for clock in clocks if clock.constraint_mhz is not None]
    if not constraints:
        return None
    return BuildConditions(clock_mhz=float(max(constraints)))


def _check_design_name(reports: list[tuple[str, Report]], design: DesignIdentity) -> None:
    """A report naming a top module the manifest does not name belongs to another design."""
    if not design.tops:
        return
    for slot, report in reports:
        if report.design and report.design not in design.tops:
            raise UsageError(
                f"{_SLOT_FLAGS[slot]} {report.file} is a report of design {report.design!r}, "
                f"but {design.file or 'the design manifest'} is {' / '.join(design.tops)}"
            )


def _energy(
    power: PowerFigure | None,
    latency: Figure,
    clock_mhz: float | None,
    inferences_per_run: int | None,
    clocks: tuple[ClockFigure, ...],
) -> Figure | None:
    """Joules per inference = total power × run time ÷ inferences per run (all stated)."""
    if clock_mhz is not None:
        if isinstance(clock_mhz, bool) or not math.isfinite(clock_mhz) or clock_mhz <= 0:
            raise UsageError(f"--clock-mhz: expected a positive frequency, got {clock_mhz!r}")
        achieved = [c for c in clocks if c.fmax_mhz is not None]
        slowest = min(achieved, key=lambda c: c.fmax_mhz or 0.0) if achieved else None
        if slowest is not None and slowest.fmax_mhz is not None and clock_mhz > slowest.fmax_mhz:
            raise UsageError(
                f"--clock-mhz {clock_mhz:g} is above the achieved Fmax "
                f"{slowest.fmax_mhz:g} MHz of clock {slowest.name!r} ({slowest.source})"
            )
    if inferences_per_run is not None and (
        isinstance(inferences_per_run, bool)
        or not isinstance(inferences_per_run, int)
        or inferences_per_run < 1
    ):
        raise UsageError(
            f"--inferences-per-run: expected a whole number ≥ 1, got {inferences_per_run!r}"
        )
    if clock_mhz is None or inferences_per_run is None:
        return None
    if power is None:
        raise UsageError("energy per inference needs a power report (--power)")
    seconds_per_run = latency.value / (clock_mhz * 1e6)
    return Figure(power.total_w * seconds_per_run / inferences_per_run, ENERGY_SOURCE)


def _file_sha256(file: str | None) -> str | None:
    if file is None or not Path(file).is_file():
        return None
    return hashlib.sha256(Path(file).read_bytes()).hexdigest()
