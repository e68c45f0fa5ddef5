"""One round's measurements: generate, then simulate and build every design in parallel.

Designs are generated here (a second or two each, and the folder must exist before its
jobs start); each then has two jobs on the executor, the build (longest, submitted
first) and the simulation. When both of a design's jobs are back, its figures are
joined (:func:`stochflow.flow.loop_measure.join_measurements`), the observation or the
failure goes into the evidence store, and the design's record is written. A design
whose record is already complete is not measured again.

Vendor targets (Vivado, Quartus) have no build job: the script is written (and run
when the tool is on PATH); otherwise the record waits for the user's build and
``stochflow collect-synthesis``, which a later ``stochflow loop --resume`` picks up
from the store.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

from stochflow.hdl.generate import generate

from .cache import atomic_write_text
from .errors import FlowError, UsageError
from .loop_measure import SimOutcome, join_measurements, simulate_design, synthesise_design
from .loop_state import DesignRecord

if TYPE_CHECKING:
    from .loop import ClosedLoop, _Work

__all__ = ["measure_round"]

CHOICE_FILE = "choice.json"


def measure_round(loop: ClosedLoop, number: int, work: list[_Work], executor: Any) -> None:
    """Measure every design of ``work`` that has no complete record yet."""
    from stochflow.surrogate.optimise import choice_document

    settings = loop.measure_settings()
    todo = []
    for item in work:
        design_hash = item.choice.network.design_hash
        record = loop.records.get(design_hash)
        if record is not None and record.complete:
            continue
        item.folder.mkdir(parents=True, exist_ok=True)
        document = choice_document(item.choice.selection, loop.target_info, loop.spec.name)
        atomic_write_text(item.folder / CHOICE_FILE, json.dumps(document, indent=1) + "\n")
        generate(item.choice.network, item.folder, network_file=str(loop.settings.spec_path))
        todo.append(item)
    if not todo:
        return
    by_hash = {item.choice.network.design_hash: item for item in todo}
    jobs = []
    if loop.target.is_open:
        for design_hash, item in by_hash.items():
            jobs.append(executor.submit(synthesise_design, item.folder / "design.json",
                                        item.folder / loop.target.name, settings,
                                        tag=(design_hash, "build")))
    for design_hash, item in by_hash.items():
        jobs.append(executor.submit(simulate_design, item.choice.network, item.folder, settings,
                                    tag=(design_hash, "sim")))
    parts: dict[str, dict[str, Any]] = {h: {} for h in by_hash}
    needed = 2 if loop.target.is_open else 1
    loop.observer.progress(f"round {number}: measuring {len(todo)} design(s)", 0, len(jobs))
    for done, completed in enumerate(executor.as_completed(jobs), start=1):
        design_hash, part = completed.tag
        if not completed.ok:
            error = completed.error
            parts[design_hash][part] = FlowError(f"{part} job failed: {type(error).__name__}: {error}")
        else:
            parts[design_hash][part] = completed.result
        loop.observer.progress(f"round {number}: {part} of {design_hash[:12]} done", done, len(jobs))
        if len(parts[design_hash]) == needed:
            record = _finish_design(loop, by_hash[design_hash], parts[design_hash])
            record.save()
            loop.records[design_hash] = record


def _sim_dict(sim: Any) -> dict[str, Any]:
    if isinstance(sim, SimOutcome):
        return sim.to_json()
    return {"error": str(sim), "bit_exact": False}


def _finish_design(loop: ClosedLoop, item: _Work, parts: dict[str, Any]) -> DesignRecord:
    settings = loop.settings
    design_hash = item.choice.network.design_hash
    sim = parts["sim"]
    record = DesignRecord(design_hash, item.folder, loop.target.name, settings.clock_mhz,
                          settings.vectors, status="measured", sim=_sim_dict(sim))
    if loop.target.is_open:
        _finish_open(loop, record, parts["build"])
    else:
        _finish_vendor(loop, record)
    if not isinstance(sim, SimOutcome) or sim.error or not sim.bit_exact:
        reason = record.sim.get("error") or record.sim.get("first_difference") or "not bit-exact"
        record.status = "sim_failed"
        _store_failure(loop, design_hash, "sim", f"RTL simulation: {reason}", None)
    elif record.observation is not None and loop.target.is_open:
        joined = join_measurements(record.observation, sim, loop.target.name, settings.clock_mhz)
        record.observation = joined.observation
        record.power_unavailable = joined.unavailable
        _store_observation(loop, record)
    elif record.observation is not None:
        # A vendor observation carries the accuracy collect-synthesis was given.
        _store_observation(loop, record)
    return record


def _finish_open(loop: ClosedLoop, record: DesignRecord, build: Any) -> None:
    from .synth_result import result_from_json

    if isinstance(build, BaseException):
        record.status = "build_failed"
        record.build = {"status": "error", "cached": False,
                        "failure": {"kind": "tool_error", "step": "build", "reason": str(build)}}
        _store_failure(loop, record.design_hash, "build", str(build), None)
        return
    result = result_from_json(build)
    record.build = {
        "status": result.status, "cached": result.cached, "out_dir": result.out_dir,
        "failure": result.failure.to_json() if result.failure else None,
        "tool_seconds": result.tool_seconds, "total_seconds": result.total_seconds,
    }
    if not result.ok:
        record.status = "build_failed"
        failure = result.failure
        assert failure is not None
        _store_failure(loop, record.design_hash, failure.step, f"{failure.kind}: {failure.reason}",
                       failure.log_path)
        return
    record.observation = result.observation


def _finish_vendor(loop: ClosedLoop, record: DesignRecord) -> None:
    """The store's vendor observation of this design, or the scripts to get one."""
    from .store import EvidenceStore
    from .vendor import emit, run_if_available

    with EvidenceStore(loop.settings.store) as store:
        stored = store.observations(target=loop.target.name, design_hash=record.design_hash)
    if stored:
        record.observation = stored[-1]
        record.build = {"status": "ok", "cached": True, "source": "evidence store"}
        return
    written = emit(record.design_json, loop.target, loop.settings.clock_mhz,
                   record.folder / loop.target.name)
    ran = run_if_available(written)
    accuracy = record.sim.get("accuracy")
    collect = list(ran.collect_argv)
    score = "ACCURACY" if accuracy is None else f"{accuracy:.6f}"
    collect[collect.index("ACCURACY")] = score
    collect += ["--accuracy-source", "sim:golden", "--store", str(loop.settings.store),
                "--clock-mhz", f"{loop.settings.clock_mhz:g}"]
    record.vendor = {"tool": ran.tool, "script": str(ran.script), "run": ran.run_command,
                     "collect": shlex.join(collect), "ran": ran.ran is not None}
    if ran.ran is None:
        record.status = "pending_vendor"
        return
    from .collect import build_observation

    reports = ran.reports
    try:
        observation = build_observation(
            record.design_json, reports["utilisation"], reports.get("power"), reports.get("timing"),
            accuracy_score=score, accuracy_source="sim:golden", clock_mhz=loop.settings.clock_mhz,
            target=loop.target.name)
    except (UsageError, FlowError) as error:
        record.status = "build_failed"
        record.build = {"status": "failed", "cached": False,
                        "failure": {"kind": "tool_error", "step": ran.tool, "reason": str(error)}}
        return
    record.observation = observation
    record.build = {"status": "ok", "cached": False, "source": ran.tool}


def complete_pending(loop: ClosedLoop) -> None:
    """Vendor designs whose observation has since been collected into the store."""
    from .store import EvidenceStore

    pending = [r for r in loop.records.values() if r.status == "pending_vendor"]
    if not pending:
        return
    with EvidenceStore(loop.settings.store) as store:
        for record in pending:
            stored = store.observations(target=loop.target.name, design_hash=record.design_hash)
            if stored:
                record.observation = stored[-1]
                record.status = "measured"
                record.build = {"status": "ok", "cached": True, "source": "evidence store"}
                record.save()


def _store_observation(loop: ClosedLoop, record: DesignRecord) -> None:
    from .store import EvidenceConflictError, EvidenceStore

    assert record.observation is not None
    with EvidenceStore(loop.settings.store) as store:
        try:
            store.add(record.observation)
        except EvidenceConflictError as error:
            record.notes.append(f"the store keeps an earlier observation of this design: {error}")


def _store_failure(loop: ClosedLoop, design_hash: str, step: str, reason: str,
                   log_path: str | None) -> None:
    """Recorded once per design, target and step (a cached failure is not news)."""
    from .store import EvidenceStore

    with EvidenceStore(loop.settings.store) as store:
        if store.failures(target=loop.target.name, design_hash=design_hash, step=step):
            return
        store.add_failure(design_hash, loop.target.name, step, reason, log_path)

