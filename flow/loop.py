"""The closed loop: from a network and a budget to a design that was built and measured.

Each round:

1. fit the surrogate on the evidence store (every observation of the target at this
   clock), with the prior's activity at the toggle rate simulations measured;
2. solve the choice exactly (:mod:`stochflow.surrogate.selector`, golden-model errors
   for the promising options), excluding every design already measured outside the
   budget, that did not fit, or whose RTL was not proven bit-exact;
3. build the chosen design and, where the surrogate is still unsure, the few
   near-optimal designs whose LUT prediction is widest, in parallel: generate the RTL,
   simulate it against the golden model (activity, accuracy), build it with Yosys +
   nextpnr, apply the activity power model, store the observation (with accuracy);
4. stop when the chosen design has been measured, meets every budget by measurement and
   was chosen in two rounds running; or when ``max_builds`` designs were measured; or
   when no design can meet the budget (saying which budget and by how much).

When no design meets the budget on the surrogate's upper confidence bound, the loop
first builds the best design on the median prediction ("probe"), and when even the
median says no while that metric is still predicted by the uncalibrated prior alone, the
design nearest to the budget: evidence decides infeasibility, not the prior. A prior
that would need more than :data:`PRIOR_PLAUSIBLE_FACTOR` times the budget is believed.

Everything a round learns is on disk before the next starts: observations and failures
in the evidence store, each design's record in ``OUT/designs/<hash>/measurement.json``,
the rounds in ``OUT/loop.json``. A rerun (or ``--resume``) therefore measures nothing
twice; an interrupted round leaves only complete records.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from stochflow.hdl.network import Network
from stochflow.hdl.spec import NetworkSpec, apply_choice, load_spec
from stochflow.surrogate.observation import Observation
from stochflow.surrogate.optimise import Models, TargetInfo, build_problem, choice_document
from stochflow.surrogate.prior import PriorUnavailable
from stochflow.surrogate.selector import Budget, BudgetError, Problem, Selection, select
from stochflow.surrogate.space import SpaceLimits

from .errors import FlowError, UsageError
from .loop_measure import MeasureSettings, float_accuracy
from .loop_models import (
    apply_fit_constraint,
    block_ram_unpriced,
    drop_block_ram,
    fit_constraint,
    fit_loop_models,
    prior_activity,
    yosys_lut_observation,
)
from .loop_select import (
    DesignKey,
    Pick,
    best_excluding,
    design_key,
    locate_config,
    materialise,
    median_problem,
    relaxed_problem,
    restricted,
)
from .loop_state import (
    JOURNAL,
    DesignRecord,
    config_from_design_json,
    load_journal,
    write_journal,
)

__all__ = [
    "STOP_REASONS",
    "ClosedLoop",
    "LoopResult",
    "LoopSettings",
    "compact_choice",
    "next_step",
    "run_loop",
]

DEFAULT_OUT = Path("build") / "loop"
STORE_FILE = "evidence.sqlite"
DESIGNS_FOLDER = "designs"
ACCURACY_CACHE = "accuracy-cache.sqlite"
REPORT_SCHEMA = "stochflow.loop/1"
STOP_REASONS: tuple[str, ...] = (
    "converged", "max_builds", "infeasible", "awaiting_vendor_builds", "no_progress",
    "interrupted",
)
# How far an uncalibrated prior may be from the truth before its "infeasible" is believed
# (the ice40 prior's power assumes high-activity logic; SC designs toggle ~8× less).
PRIOR_PLAUSIBLE_FACTOR = 4.0
# A near-optimal design is worth an extra build while its LUT interval is wider than this
# (relative to its median).
EXPLORE_MIN_SPREAD = 0.05
EXPLORE_CANDIDATES = 6
# Designs the proxy proposes that the whole network's training error ranks again.
RERANK_CANDIDATES = 8
MAX_EXPLORE = 3

Step = Literal["converged", "confirm", "build", "max_builds", "await_vendor"]


def next_step(
    *, state: str, chosen: str, previous: str | None, builds_used: int, max_builds: int
) -> Step:
    """What a round does with its chosen design.

    ``state`` is ``within`` (measured, every budget met), ``pending`` (a vendor build is
    awaited) or ``unmeasured``; a design measured outside the budget is never chosen.
    """
    if state == "within":
        return "converged" if chosen == previous else "confirm"
    if state == "pending":
        return "await_vendor"
    return "max_builds" if builds_used >= max_builds else "build"


@dataclass(frozen=True)
class LoopSettings:
    spec_path: Path
    target: str
    budget: Budget
    out_dir: Path = DEFAULT_OUT
    store_path: Path | None = None  # None: OUT/evidence.sqlite
    max_builds: int = 8
    jobs: int | None = None
    scheduler: str | None = None
    clock_mhz: float = 12.0
    confidence: float = 0.9
    vectors: int = 32
    explore: int | None = None  # extra designs per round; None: jobs - 1 (at most 3)
    resume: bool = False
    limits: SpaceLimits | None = None
    golden_options: int = 48
    calibration_samples: int = 64
    step_timeout_s: float = 1800.0

    @property
    def store(self) -> Path:
        return self.store_path if self.store_path is not None else self.out_dir / STORE_FILE

    def check(self) -> None:
        """Refuse bad settings before anything runs (UsageError, exit 2)."""
        if isinstance(self.max_builds, bool) or self.max_builds < 1:
            raise UsageError(f"--max-builds: expected at least 1, got {self.max_builds}")
        if self.vectors < 1:
            raise UsageError(f"--vectors: expected at least 1, got {self.vectors}")
        if not 0.5 <= self.confidence < 1.0:
            raise UsageError(f"--confidence: expected 0.5 ≤ c < 1, got {self.confidence}")
        if not (math.isfinite(self.clock_mhz) and self.clock_mhz > 0):
            raise UsageError(f"--clock-mhz: expected a positive frequency, got {self.clock_mhz}")
        if self.jobs is not None and self.jobs < 1:
            raise UsageError(f"--jobs: expected at least 1, got {self.jobs}")
        if self.explore is not None and self.explore < 0:
            raise UsageError(f"--explore: expected 0 or more, got {self.explore}")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise UsageError(f"--out {self.out_dir}: exists and is not a folder")
        if not self.spec_path.is_file():
            raise UsageError(f"{self.spec_path}: no such network spec")


@dataclass
class LoopResult:
    """The report (as written to ``report.json``) and the exit status it implies."""

    report: dict[str, Any]
    exit_code: int
    paths: dict[str, Path] = field(default_factory=dict)


class LoopObserver:
    """Hooks the CLI uses to show progress; the default shows nothing."""

    def round_finished(self, record: dict[str, Any], budget: Budget) -> None: ...

    def progress(self, text: str, done: int, total: int) -> None: ...

    def message(self, text: str) -> None: ...


def compact_choice(config: Any) -> str:
    """``hidden 128/lfsr16/p4/f3 · output 128/vdc8/p4/f2`` (L / source / precision / folding)."""
    parts = []
    for layer in config.layers:
        rng = layer.weight_rng
        rom = "/bram" if layer.weight_memory == "block" else ""
        parts.append(f"{layer.name} {layer.bitstream_length}/{rng.kind}{rng.width}/"
                     f"p{layer.precision}/f{layer.folding}{rom}")
    return " · ".join(parts)


def _layer_knobs(config: Any) -> list[dict[str, Any]]:
    return [{"name": layer.name, "bitstream_length": layer.bitstream_length,
             "precision": layer.precision, "folding": layer.folding,
             "fold_cycles": layer.fold_cycles, "weight_memory": layer.weight_memory,
             "weight_rng": layer.weight_rng.to_dict(),
             "input_rng": None if layer.input_rng is None else layer.input_rng.to_dict()}
            for layer in config.layers]


def _figure(total: dict[str, Any] | None) -> dict[str, Any] | None:
    if total is None:
        return None
    return {"value": total["value"], "interval": list(total["interval"]),
            "upper_bound": total["upper_bound"], "source": total["source"]}


@dataclass
class _Choice:
    """A design the round settled on and how it was found."""

    mode: str  # selected | probe-median | probe-relaxed
    pick: Pick
    selection: Selection  # predictions at the loop's confidence (c-level totals)
    network: Network
    note: str = ""
    source: Problem | None = None  # the (refined) problem the pick was found in


@dataclass
class _Infeasible:
    message: str
    detail: dict[str, Any]


@dataclass
class _Work:
    """One design to measure this round."""

    role: str  # chosen | explore
    choice: _Choice
    folder: Path
    why: str = ""


class ClosedLoop:
    """One run of the loop (see the module docs); :meth:`run` returns the result."""

    def __init__(self, settings: LoopSettings, observer: LoopObserver | None = None) -> None:
        settings.check()
        self.settings = settings
        self.observer = observer or LoopObserver()
        self.spec: NetworkSpec = load_spec(settings.spec_path)
        self.target_info = self._target_info()
        self.target = self._target()
        self.out = settings.out_dir.resolve()
        self.designs_dir = self.out / DESIGNS_FOLDER
        self.records: dict[str, DesignRecord] = {}
        self.objectives: dict[str, float] = {}
        self.predictions: dict[str, dict[str, Any]] = {}
        self._golden: Any = None
        self._report_problem: Problem | None = None
        self._float_accuracy: float | None = None
        self._network_errors: dict[tuple[Any, ...], float] = {}
        self._training: tuple[np.ndarray, np.ndarray] | None = None
        self._check_budget_keys()

    # ------------------------------------------------------------------ setup

    def _target_info(self) -> TargetInfo:
        from .commands.optimise import target_info

        return target_info(self.settings.target)

    def _target(self) -> Any:
        from .targets import get_target

        return get_target(self.settings.target)

    def _check_budget_keys(self) -> None:
        """A budget the loop could never check by measurement is a usage error."""
        budget = self.settings.budget
        if budget.power_mw is not None and self.target.is_open:
            from .power_model import ActivityPowerModel

            try:
                ActivityPowerModel(self.target).check()
            except (UsageError, FlowError) as error:
                raise UsageError(f"--budget power_mw on {self.target.name}: {error}") from None

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same loop (``--resume`` refuses anything else)."""
        return {
            "network": self.spec.name,
            "weights_sha256": self.spec.weights_sha256,
            "target": self.target.name,
            "budget": self.settings.budget.to_json(),
            "clock_mhz": self.settings.clock_mhz,
            "confidence": self.settings.confidence,
            "vectors": self.settings.vectors,
        }

    def measure_settings(self) -> MeasureSettings:
        return MeasureSettings(
            target=self.target.name,
            clock_mhz=self.settings.clock_mhz,
            vectors=self.settings.vectors,
            store_path=self.settings.store.resolve(),
            dataset=self.spec.dataset,
            build_cache_dir=(self.out / ".build-cache") if self.settings.scheduler else None,
            step_timeout_s=self.settings.step_timeout_s,
        )

    def _load_records(self) -> None:
        """Complete records of this network's designs under this target, clock and vectors."""
        if not self.designs_dir.is_dir():
            return
        shapes = [(layer.n_in, layer.n_out) for layer in self.spec.layers]
        for folder in sorted(self.designs_dir.iterdir()):
            record = DesignRecord.load(folder)
            if record is None or record.target != self.target.name:
                continue
            if not math.isclose(record.clock_mhz, self.settings.clock_mhz) or \
                    record.vectors < self.settings.vectors:
                continue
            try:
                config = config_from_design_json(record.design_json)
            except FlowError:
                continue
            if [(layer.n_in, layer.n_out) for layer in config.layers] != shapes:
                continue
            self.records[record.design_hash] = record

    # ------------------------------------------------------------------ the run

    def run(self) -> LoopResult:
        from .executors import make_executor
        from .loop_run import complete_pending
        from .store import EvidenceStore

        started = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        EvidenceStore(self.settings.store).close()  # created once, before its writers
        journal = self.out / JOURNAL
        rounds: list[dict[str, Any]] = []
        if self.settings.resume:
            rounds = load_journal(journal, self.identity())
            for entry in rounds:
                self._remember(entry)
        self._load_records()
        complete_pending(self)
        self._float_accuracy = float_accuracy(self.spec)
        stop: dict[str, Any] | None = None
        if rounds and rounds[-1].get("stop") in ("converged", "infeasible"):
            stop = {"reason": rounds[-1]["stop"], "message": rounds[-1].get("stop_message", "")}
        executor = None
        try:
            while stop is None:
                if executor is None:  # workers start on the first job, not here
                    executor = make_executor(self.settings.jobs, self.settings.scheduler)
                try:
                    record, stop = self._round(len(rounds) + 1, rounds, executor)
                except PriorUnavailable as error:
                    raise FlowError(str(error)) from None
                rounds.append(record)
                write_journal(journal, self.identity(), rounds, stop)
                self.observer.round_finished(record, self.settings.budget)
        except KeyboardInterrupt:
            if executor is not None:
                executor.close(interrupt=True)
                executor = None
            stop = {"reason": "interrupted", "message": "interrupted; rerun with --resume to continue"}
            write_journal(journal, self.identity(), rounds, None)
            self._finish(rounds, stop, started)
            raise
        finally:
            if executor is not None:
                executor.close()
        return self._finish(rounds, stop, started)

    def _remember(self, entry: dict[str, Any]) -> None:
        for design in [entry, *entry.get("explored", [])]:
            if design.get("design_hash") and design.get("objective") is not None:
                self.objectives[design["design_hash"]] = design["objective"]
                if design.get("predicted"):
                    self.predictions.setdefault(design["design_hash"], design["predicted"])

    def _builds_used(self, rounds: list[dict[str, Any]]) -> int:
        return sum(len(entry.get("measured_designs", [])) for entry in rounds)

    # ------------------------------------------------------------------ one round

    def _round(
        self, number: int, rounds: list[dict[str, Any]], executor: Any
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        started = time.perf_counter()
        previous = rounds[-1].get("design_hash") if rounds else None
        _, fitting = self._evidence()
        activity = prior_activity(self.target.name, self.target.family,
                                  [r.sim["toggle_rate"] for r in self.records.values()
                                   if r.sim.get("toggle_rate") is not None])
        models = fit_loop_models(self.target_info, fitting, clock_mhz=self.settings.clock_mhz,
                                 activity=activity,
                                 interval_confidence=self.settings.confidence)
        self.observer.progress(f"round {number}: solving", 0, 0)
        problem = self._problem(models)
        fit = fit_constraint(self.target, models, fitting, self.settings.confidence)
        self._report_problem = problem
        if fit is not None:
            problem = apply_fit_constraint(problem, fit)
        choice = self._choose(problem, models)
        base: dict[str, Any] = {
            "round": number,
            "observations": len(fitting),
            "models": {"luts": models.lut.source,
                       "power_mw": None if models.power is None else models.power.source},
            "prior_activity": None if activity is None else activity.to_json(),
            "lut_cv_mape": self._cv_mape(models, fitting),
            "fit": None if fit is None else fit.to_json(),
        }
        if isinstance(choice, _Infeasible):
            base.update({"design_hash": None, "mode": "infeasible", "infeasible": choice.detail,
                         "measured_designs": [], "built": [], "explored": [],
                         "seconds": time.perf_counter() - started, "stop": "infeasible",
                         "stop_message": choice.message})
            return base, {"reason": "infeasible", "message": choice.message}
        chosen_hash = choice.network.design_hash
        record = self.records.get(chosen_hash)
        state = self._state(record)
        step = next_step(state=state, chosen=chosen_hash, previous=previous,
                         builds_used=self._builds_used(rounds), max_builds=self.settings.max_builds)
        work: list[_Work] = []
        if step == "build":
            work = [_Work("chosen", choice, self._folder(chosen_hash))]
            room = self.settings.max_builds - self._builds_used(rounds) - 1
            work += self._exploration(problem, choice, min(room, self._explore_count()))
            self._measure(number, work, executor)
        entry = self._round_entry(base, choice, previous)
        entry["explored"] = [self._design_entry(w.choice, w.why) for w in work if w.role == "explore"]
        entry["measured_designs"] = [w.choice.network.design_hash for w in work]
        entry["built"] = [w.choice.network.design_hash for w in work
                          if self.records.get(w.choice.network.design_hash) is not None
                          and not self.records[w.choice.network.design_hash].build.get("cached")]
        if chosen_hash not in entry["measured_designs"] and entry.get("status") in ("built", "cached"):
            entry["status"] = "known"  # measured in an earlier round or run
        entry["seconds"] = time.perf_counter() - started
        stop = self._stop_after(step, entry, rounds)
        entry["stop"] = None if stop is None else stop["reason"]
        entry["stop_message"] = None if stop is None else stop["message"]
        return entry, stop

    def _stop_after(self, step: Step, entry: dict[str, Any], rounds: list[dict[str, Any]]
                    ) -> dict[str, Any] | None:
        if step == "converged":
            return {"reason": "converged", "message": (
                f"design {entry['design_hash'][:12]} was chosen twice running and meets every "
                "budget by measurement")}
        if step == "max_builds":
            return {"reason": "max_builds", "message": (
                f"max builds reached ({self.settings.max_builds} designs measured) before a "
                "measured design was chosen twice running")}
        if step == "await_vendor":
            return {"reason": "awaiting_vendor_builds", "message": (
                "the chosen design waits for its vendor build: run the script, ingest the "
                "reports (commands in the report), then `stochflow loop --resume`")}
        pending = [r for r in self.records.values() if r.status == "pending_vendor"]
        if step == "build" and pending and entry["design_hash"] in {r.design_hash for r in pending}:
            return {"reason": "awaiting_vendor_builds", "message": (
                "vendor scripts written for this round's designs: run them, ingest the reports "
                "(commands in the report), then `stochflow loop --resume`")}
        quiet = [r for r in rounds[-1:] if not r.get("measured_designs")]
        if step == "confirm" and quiet and rounds[-1].get("design_hash") != entry["design_hash"]:
            return {"reason": "no_progress", "message": (
                "the choice changed without new evidence; stopping rather than cycling")}
        if len(rounds) + 1 >= 2 * self.settings.max_builds + 4:
            return {"reason": "no_progress", "message": "too many rounds without converging"}
        return None

    def _state(self, record: DesignRecord | None) -> str:
        if record is None:
            return "unmeasured"
        if record.status == "pending_vendor":
            return "pending"
        verdict = record.verdict(self.settings.budget)
        return "within" if verdict is not None and verdict.within else "outside"

    def _explore_count(self) -> int:
        if self.settings.explore is not None:
            return self.settings.explore
        from .executors import default_jobs

        jobs = self.settings.jobs or (default_jobs() if self.settings.scheduler is None else 2)
        return max(0, min(MAX_EXPLORE, jobs - 1))

    def _folder(self, design_hash: str) -> Path:
        return self.designs_dir / design_hash[:16]

    # ------------------------------------------------------------------ evidence and models

    def _evidence(self) -> tuple[list[Observation], list[Observation]]:
        """The target's observations at this clock (stored), and those plus the LUT counts
        of builds that did not fit (for fitting only)."""
        from .store import EvidenceStore

        with EvidenceStore(self.settings.store) as store:
            stored = store.observations(target=self.target.name)
        clock = self.settings.clock_mhz
        mine = [o for o in stored
                if o.build is None or o.build.clock_mhz is None
                or math.isclose(o.build.clock_mhz, clock)]
        known = {o.design_hash for o in mine}
        extra = []
        for record in self.records.values():
            if record.status == "build_failed" and record.design_hash not in known:
                out_dir = record.build.get("out_dir")
                if out_dir:
                    counted = yosys_lut_observation(record.design_json, Path(out_dir), self.target)
                    if counted is not None:
                        extra.append(counted)
        return mine, mine + extra

    def _cv_mape(self, models: Models, observations: list[Observation]) -> float | None:
        from stochflow.surrogate.report import InsufficientEvidence, cross_validate

        try:
            return cross_validate(observations, models.prior, self.target.name, "lut",
                                  self.settings.confidence).mape
        except (InsufficientEvidence, ValueError):
            return None

    def _accuracy_model(self) -> Any:
        from stochflow.surrogate.accuracy import StreamErrorModel

        return StreamErrorModel()

    def _golden_model(self) -> Any:
        """``sim:golden`` layer errors on training samples (None: the spec has no dataset)."""
        if self.spec.dataset is None:
            return None
        if self._golden is None:
            from stochflow.surrogate.accuracy import ErrorCache, GoldenLayerError

            inputs = self.spec.load_dataset().x_train[: self.settings.calibration_samples]
            self._golden = GoldenLayerError(self.spec, inputs, ErrorCache(self.out / ACCURACY_CACHE))
        return self._golden

    def _problem(self, models: Models) -> Problem:
        try:
            problem = build_problem(self.spec.config, models, self.settings.budget,
                                    self._accuracy_model(), limits=self.settings.limits,
                                    confidence=self.settings.confidence)
        except BudgetError as error:
            raise UsageError(str(error)) from None
        if (self.settings.budget.power_mw is not None and self.target.is_open
                and block_ram_unpriced(self.target.name)):
            problem = drop_block_ram(problem)
        return problem

    def _refined(self, problem: Problem) -> Problem:
        """The promising options only, scored by the golden model (as ``optimise --accuracy
        golden``); an empty problem when no option can meet the budget."""
        golden = self._golden_model()
        if golden is None:
            return problem
        from stochflow.surrogate.optimise import refine_errors

        refined = refine_errors(problem, golden, self.settings.golden_options)
        if refined is problem:  # some layer has no option within the budget
            return restricted(problem, [np.zeros(0, dtype=np.int64) for _ in problem.layers])
        return refined

    # ------------------------------------------------------------------ choosing

    def _excluded(self) -> set[DesignKey]:
        keys = set()
        for record in self.records.values():
            if self._state(record) == "outside":
                keys.add(design_key(config_from_design_json(record.design_json)))
        return keys

    def _measured_keys(self) -> set[DesignKey]:
        return {design_key(config_from_design_json(r.design_json)) for r in self.records.values()}

    def _choice(self, mode: str, problem_c: Problem, refined: Problem, pick: Pick,
                note: str = "") -> _Choice:
        """The pick as a full selection with the c-level predictions, and its network."""
        report = self._report_problem if self._report_problem is not None else problem_c
        options = _locate(report, refined, pick.options)
        selection = materialise(report, options)
        if mode == "selected":
            optimum = select(refined)
            if optimum.feasible and optimum.config is not None and \
                    design_key(optimum.config) == pick.key:
                selection.binding = list(optimum.binding)
        assert selection.config is not None
        document = choice_document(selection, self.target_info, self.spec.name)
        network = apply_choice(self.spec, document).build()
        self.objectives.setdefault(network.design_hash, self._objective(refined, list(pick.options)))
        return _Choice(mode, pick, selection, network, note, refined)

    def _choose(self, problem: Problem, models: Models) -> _Choice | _Infeasible:
        """The round's design; one measured outside the budget is excluded and replaced."""
        extra: set[DesignKey] = set()
        for _ in range(8):
            choice = self._choose_once(problem, models, self._excluded() | extra)
            if isinstance(choice, _Infeasible):
                return choice
            record = self.records.get(choice.network.design_hash)
            if record is None or self._state(record) != "outside":
                return choice
            extra.add(choice.pick.key)
        raise FlowError("the solver keeps choosing designs measured outside the budget")

    def _choose_once(self, problem: Problem, models: Models, excluded: set[DesignKey]
                     ) -> _Choice | _Infeasible:
        """Best first: the solver's pick on the confidence bound; the best design measured
        within the budget when nothing predicted beats it; a probe when the bound allows
        nothing (see the module docs); else infeasible."""
        refined = self._refined(problem)
        picks = self._ranked(refined, excluded)
        measured = self._best_measured()

        def beats(pick: Pick) -> bool:
            return measured is None or pick.key == measured.pick.key \
                or pick.objective < measured.pick.objective

        if picks and beats(picks[0]):
            return self._choice("selected", problem, refined, picks[0])
        if measured is not None and picks:
            return measured
        median = median_problem(problem)
        refined_median = self._refined(median)
        picks = self._ranked(refined_median, excluded)
        if picks and beats(picks[0]) and (measured is None or picks[0].key != measured.pick.key):
            return self._choice("probe-median", problem, refined_median, picks[0],
                                f"no better design meets the budget at the "
                                f"{self.settings.confidence:.0%} bound; the best on the median "
                                "prediction is built to learn")
        if measured is not None:
            return measured
        explained = select(median)
        if explained.feasible:
            return _Infeasible(
                "every design the surrogate places within the budget was measured outside it",
                {"excluded": len(excluded)})
        relaxation = self._plausible_relaxation(explained, models)
        if relaxation is not None:
            key, needed, limit = relaxation
            relaxed = self._refined(relaxed_problem(median, key, limit))
            picks = best_excluding(relaxed, excluded)
            if picks:
                return self._choice(
                    "probe-relaxed", problem, relaxed, picks[0],
                    f"the uncalibrated prior puts every design over {key} (at least "
                    f"{needed:.4g}); the best design under {limit:.4g} predicted is built to learn")
        return _Infeasible(_infeasible_message(explained), _infeasible_detail(explained))

    def _best_measured(self) -> _Choice | None:
        """The best design measured within the budget, as a choice (its own figures decide
        its budget, not the model's bounds), by the solver's objective."""
        report = self._report_problem
        if report is None:
            return None
        best: tuple[float, str, Pick] | None = None
        for design_hash, record in self.records.items():
            verdict = record.verdict(self.settings.budget)
            if verdict is None or not verdict.within:
                continue
            config = config_from_design_json(record.design_json)
            options = locate_config(report, config)
            if options is None:
                continue
            objective = self._objective(report, options)
            if best is None or (objective, design_hash) < best[:2]:
                best = (objective, design_hash, Pick(tuple(options), design_key(config), objective))
        if best is None:
            return None
        _, design_hash, pick = best
        choice = self._choice("measured", report, report, pick,
                              "measured within the budget; no better design is predicted to be")
        if choice.network.design_hash != design_hash:
            return None
        return choice

    def _ranked(self, problem: Problem, excluded: set[DesignKey]) -> list[Pick]:
        """The best designs outside ``excluded``, best first.

        With a dataset, the solver's :data:`RERANK_CANDIDATES` best designs (by the
        separable per-layer proxy) are ranked again by what the proxy stands for: the
        whole network's error on training samples (``sim:golden``), each a few tenths of
        a second. The proxy finds the near-optimal designs; the network decides between
        them, so two layers' errors that do not add up cannot pick the worse one.
        """
        if self.spec.dataset is None:
            return best_excluding(problem, excluded)
        picks = best_excluding(problem, excluded, count=RERANK_CANDIDATES)
        scored = [(self._objective(problem, list(pick.options)), position, pick)
                  for position, pick in enumerate(picks)]
        scored.sort(key=lambda item: (item[0], item[1]))
        return [Pick(pick.options, pick.key, error) for error, _, pick in scored]

    def _objective(self, problem: Problem, options: list[int]) -> float:
        """The objective of one design: the whole network's training error (golden model)
        when the spec has a dataset, else the solver's sum of per-layer errors."""
        if self.spec.dataset is not None:
            return self._network_error([layer.space.config(option)
                                        for layer, option in zip(problem.layers, options, strict=True)])
        golden = self._golden_model()
        total = 0.0
        for layer, option in zip(problem.layers, options, strict=True):
            if golden is None:
                total += float(layer.error[option])
            else:
                total += float(golden.layer_errors(layer.space.subset(np.array([option])))[0])
        return total

    def _network_error(self, layers: list[Any]) -> float:
        """1 − golden accuracy on the whole training split of the network with these layers'
        accuracy knobs (folding and ROM place change nothing); the held-out split is kept
        for the report."""
        from stochflow.surrogate.space import rng_key

        key = tuple((layer.bitstream_length, layer.precision, rng_key(layer.weight_rng),
                     None if layer.input_rng is None else rng_key(layer.input_rng))
                    for layer in layers)
        cached = self._network_errors.get(key)
        if cached is not None:
            return cached
        from stochflow.hdl import golden

        spec = self.spec
        for index, layer in enumerate(layers):
            spec = spec.with_layer_knobs(index, bitstream_length=layer.bitstream_length,
                                         precision=layer.precision, weight_rng=layer.weight_rng,
                                         input_rng=layer.input_rng)
        if self._training is None:
            data = self.spec.load_dataset()
            self._training = (data.x_train, data.y_train)
        inputs, labels = self._training
        predicted = golden.predict(spec.build(), inputs)
        error = float(np.mean(predicted != labels))
        self._network_errors[key] = error
        return error

    def _plausible_relaxation(self, explained: Selection, models: Models
                              ) -> tuple[str, float, float] | None:
        """A budget a prior-only model may be wrong about by a plausible factor: the key, the
        least it needs, and the limit to probe under (None: no such budget).

        The probe assumes the prior is off by the middle of the plausible range (the
        geometric mean of 1 and :data:`PRIOR_PLAUSIBLE_FACTOR`), not by exactly what the
        cheapest design needs: that would always probe the least accurate design.
        """
        budget = self.settings.budget.to_json()
        candidates = []
        for key, increase in explained.increases.items():
            if increase is None or key == "latency_cycles":
                continue
            model = models.lut if key == "luts" else models.power
            if model is None or model.regressor is not None:
                continue
            needed = budget[key] + increase
            if needed <= PRIOR_PLAUSIBLE_FACTOR * budget[key]:
                probe = max(needed, budget[key] * math.sqrt(PRIOR_PLAUSIBLE_FACTOR)) * (1 + 1e-6)
                candidates.append((needed / budget[key], key, needed, probe))
        if not candidates:
            return None
        _, key, needed, probe = min(candidates)
        return key, needed, probe

    def _exploration(self, problem: Problem, choice: _Choice, count: int) -> list[_Work]:
        """Near-optimal designs whose LUT prediction is widest (where the model is unsure)."""
        if count <= 0:
            return []
        refined = choice.source if choice.source is not None else self._refined(problem)
        skip = self._excluded() | self._measured_keys() | {choice.pick.key}
        picks = best_excluding(refined, skip, count=EXPLORE_CANDIDATES)
        ranked = []
        for pick in picks:
            candidate = self._choice("explore", problem, refined, pick)
            luts = candidate.selection.totals["luts"]
            low, high = luts["interval"]
            spread = (high - low) / (2 * luts["value"])
            if spread >= EXPLORE_MIN_SPREAD and candidate.network.design_hash not in self.records:
                ranked.append((-spread, pick.objective, candidate))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [_Work("explore", candidate, self._folder(candidate.network.design_hash),
                      f"LUT interval ±{-negative:.0%}")
                for negative, _, candidate in ranked[:count]]

    # ------------------------------------------------------------------ measuring

    def _measure(self, number: int, work: list[_Work], executor: Any) -> None:
        from .loop_run import measure_round

        measure_round(self, number, work, executor)

    # ------------------------------------------------------------------ records → report

    def _design_entry(self, choice: _Choice, why: str = "") -> dict[str, Any]:
        network = choice.network
        design_hash = network.design_hash
        totals = choice.selection.totals
        predicted = {key: _figure(totals.get(key)) for key in ("luts", "ffs", "power_mw",
                                                               "latency_cycles")}
        self.predictions.setdefault(design_hash, predicted)
        record = self.records.get(design_hash)
        entry: dict[str, Any] = {
            "design_hash": design_hash,
            "design": str(self._folder(design_hash) / "design.json"),
            "choice": compact_choice(network.config),
            "layers": _layer_knobs(network.config),
            "mode": choice.mode,
            "objective": choice.pick.objective,
            "error_source": choice.selection.choices[0].error_source if choice.selection.choices
            else None,
            "predicted": predicted,
            "why": why or choice.note,
        }
        entry.update(self.measurement_entry(record, predicted))
        return entry

    def measurement_entry(self, record: DesignRecord | None,
                          predicted: dict[str, Any] | None) -> dict[str, Any]:
        """The measured side of a design for the report (all None when unmeasured)."""
        if record is None:
            return {"status": "unmeasured", "measured": None, "within_budget": None,
                    "violations": [], "budget_use": {}, "bit_exact": None, "accuracy": None,
                    "lut_error": None}
        verdict = record.verdict(self.settings.budget)
        measured = record.measured
        lut_error = None
        luts = (measured or {}).get("luts")
        if luts is None and record.status == "build_failed":
            counted = yosys_lut_observation(record.design_json,
                                            Path(record.build.get("out_dir", record.folder)),
                                            self.target)
            luts = None if counted is None else counted.resources["lut"].used
        if luts and predicted and predicted.get("luts"):
            lut_error = abs(predicted["luts"]["value"] - luts) / luts
        status = record.status
        if status == "measured":
            status = "cached" if record.build.get("cached") else "built"
        return {
            "status": status,
            "measured": measured,
            "measured_luts": luts,
            "within_budget": None if verdict is None else verdict.within,
            "violations": [] if verdict is None else list(verdict.violations),
            "budget_use": {} if verdict is None else verdict.use,
            "bit_exact": record.sim.get("bit_exact"),
            "accuracy": record.accuracy,
            "lut_error": lut_error,
            "failure": record.failure,
            "power_unavailable": record.power_unavailable,
            "vendor": record.vendor,
        }

    def _round_entry(self, base: dict[str, Any], choice: _Choice, previous: str | None
                     ) -> dict[str, Any]:
        entry = dict(base)
        entry.update(self._design_entry(choice))
        entry["binding"] = list(choice.selection.binding)
        entry["stable"] = previous == choice.network.design_hash
        return entry

    def _finish(self, rounds: list[dict[str, Any]], stop: dict[str, Any] | None,
                started: float) -> LoopResult:
        from .loop_report import build_report, write_reports

        stop = stop or {"reason": "interrupted", "message": "stopped"}
        report = build_report(self, rounds, stop, time.perf_counter() - started)
        paths = write_reports(report, self.out)
        final = report["final"]
        code = 0 if final.get("within_budget") and final.get("bit_exact") else 1
        return LoopResult(report, code, paths)


def _locate(problem: Problem, subproblem: Problem, options: tuple[int, ...]) -> list[int]:
    """Indices in ``problem`` of the options ``subproblem`` (a subset of it) chose."""
    located = []
    for full, part, option in zip(problem.layers, subproblem.layers, options, strict=True):
        space, sub = full.space, part.space
        match = ((space.lengths == sub.lengths[option]) & (space.precisions == sub.precisions[option])
                 & (space.folding == sub.folding[option])
                 & (space.memory_mask == sub.memory_mask[option]))
        wanted = sub.variants[int(sub.variant[option])]
        variant_ids = [i for i, v in enumerate(space.variants) if v == wanted]
        candidates = [int(i) for i in match.nonzero()[0] if int(space.variant[i]) in variant_ids]
        if not candidates:
            raise FlowError("internal: a refined option is not in the full problem")
        located.append(candidates[0])
    return located


def _infeasible_detail(selection: Selection) -> dict[str, Any]:
    return {"increases": dict(selection.increases), "unplaceable": list(selection.unplaceable),
            "budget": selection.budget.to_json(), "bound": "median prediction"}


def _infeasible_message(selection: Selection) -> str:
    parts = []
    budget = selection.budget.to_json()
    for key, increase in selection.increases.items():
        if increase is None:
            parts.append(f"raising {key} alone is not enough")
        else:
            parts.append(f"{key} needs at least {budget[key] + increase:.4g} "
                         f"(budget {budget[key]:.4g}, +{increase:.4g})")
    for item in selection.unplaceable:
        who = item["layer"] or "the network"
        parts.append(f"{who} cannot be placed under {item['budget']}: {item['why']}")
    return "no design meets the budget (even on the median prediction): " + "; ".join(parts)


def run_loop(settings: LoopSettings, observer: LoopObserver | None = None) -> LoopResult:
    """Run the loop to its stop; the report is written to ``OUT/report.{json,md,html}``."""
    return ClosedLoop(settings, observer).run()

