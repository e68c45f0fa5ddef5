"""What the loop knows between rounds and between runs: design records, budget checks, journal.

Every design the loop measures gets a folder ``OUT/designs/<hash>/`` (generated RTL,
``activity.json``, the build) and, once its measurement is complete, a record
``measurement.json`` written atomically: what the simulation proved, what the build
measured (or why it failed) and the joined figures. A record is reused only under the
same target, clock and vector count, so a rerun never simulates or builds a design
twice. The journal ``OUT/loop.json`` holds the rounds so far; ``--resume`` continues it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stochflow.hdl.config import NetworkConfig
from stochflow.surrogate.evidence import ObservationLoadError, observation_from_json
from stochflow.surrogate.learned import layer_config_from_record
from stochflow.surrogate.observation import Observation
from stochflow.surrogate.selector import Budget

from .cache import atomic_write_text
from .errors import FlowError, UsageError

__all__ = [
    "DESIGN_RECORD",
    "JOURNAL",
    "DesignRecord",
    "Verdict",
    "check_budget",
    "config_from_design_json",
    "load_journal",
    "measured_figures",
    "write_journal",
]

DESIGN_RECORD = "measurement.json"
DESIGN_SCHEMA = "stochflow.loop-design/1"
JOURNAL = "loop.json"
JOURNAL_SCHEMA = "stochflow.loop-journal/1"


def measured_figures(observation: Observation) -> dict[str, Any]:
    """The figures a budget is checked against, each with its source (None: not measured)."""
    resources = observation.resources
    lut = resources.get("lut")
    lc = resources.get("lc")
    ff = resources.get("ff")
    bram = resources.get("bram")
    power = observation.power
    return {
        "luts": None if lut is None else float(lut.used),
        "lc": None if lc is None else float(lc.used),
        "ff": None if ff is None else float(ff.used),
        "bram": None if bram is None else float(bram.used),
        "power_mw": None if power is None else power.total_w * 1000.0,
        "latency_cycles": int(observation.latency_cycles.value),
        "fmax_mhz": observation.fmax_mhz,
        "timing_met": observation.timing_met,
        "energy_per_inference_nj": (None if observation.energy_per_inference_j is None
                                    else observation.energy_per_inference_j.value * 1e9),
        "sources": {
            "luts": None if lut is None else lut.source,
            "lc": None if lc is None else lc.source,
            "power_mw": None if power is None else power.source,
            "latency_cycles": observation.latency_cycles.source,
            "fmax_mhz": next((c.source for c in observation.clocks if c.fmax_mhz is not None), None),
        },
    }


@dataclass(frozen=True)
class Verdict:
    """A measured design against the budget: whether it meets every limit, and why not."""

    within: bool
    violations: tuple[str, ...]
    use: dict[str, float]  # measured / limit per budgeted metric (1.0 = at the limit)


def check_budget(
    measured: dict[str, Any], budget: Budget, clock_mhz: float | None,
    unavailable: dict[str, str] | None = None,
) -> Verdict:
    """Budget by measurement. A budgeted metric that was not measured is a violation, and so
    is a build whose timing missed the clock it was asked for (its power and latency in
    seconds would then be those of a slower clock)."""
    violations: list[str] = []
    use: dict[str, float] = {}
    for key, limit in budget.items():
        value = measured.get(key)
        if value is None:
            why = (unavailable or {}).get(key, "no figure")
            violations.append(f"{key} not measured ({why})")
            continue
        use[key] = float(value) / limit
        if value > limit:
            violations.append(f"{key} {value:.4g} > {limit:.4g} (+{(value - limit) / limit:.1%})")
    if measured.get("timing_met") is False and clock_mhz is not None:
        fmax = measured.get("fmax_mhz")
        stated = f"{fmax:.1f} MHz" if fmax is not None else "below"
        violations.append(f"timing: Fmax {stated} misses the {clock_mhz:g} MHz clock")
    return Verdict(not violations, tuple(violations), use)


def config_from_design_json(path: Path) -> NetworkConfig:
    """The network's knobs as ``design.json`` states them."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        layers = tuple(layer_config_from_record(dict(layer)) for layer in manifest["layers"])
        name = manifest["name"] if str(manifest["name"]).isidentifier() else "design"
        return NetworkConfig(name, layers, manifest["architecture"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FlowError(f"{path}: cannot read the design's knobs: {error}") from None


@dataclass
class DesignRecord:
    """Everything the loop measured of one design (complete once ``status`` is final)."""

    design_hash: str
    folder: Path
    target: str
    clock_mhz: float
    vectors: int
    status: str  # measured | build_failed | sim_failed | pending_vendor
    sim: dict[str, Any] = field(default_factory=dict)
    build: dict[str, Any] = field(default_factory=dict)
    observation: Observation | None = None
    power_unavailable: str | None = None
    vendor: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def design_json(self) -> Path:
        return self.folder / "design.json"

    @property
    def measured(self) -> dict[str, Any] | None:
        return None if self.observation is None else measured_figures(self.observation)

    @property
    def bit_exact(self) -> bool:
        return bool(self.sim.get("bit_exact"))

    @property
    def accuracy(self) -> float | None:
        return self.sim.get("accuracy")

    @property
    def complete(self) -> bool:
        return self.status in ("measured", "build_failed", "sim_failed")

    @property
    def failure(self) -> str | None:
        """Why this design can never be the answer on this target (None: it may be)."""
        if self.status == "sim_failed":
            return "simulation: " + str(self.sim.get("error") or self.sim.get("first_difference")
                                        or "not bit-exact")
        if self.status == "build_failed":
            failure = self.build.get("failure") or {}
            return f"build: {failure.get('kind', 'failed')}: {failure.get('reason', '')}".strip()
        return None

    def verdict(self, budget: Budget) -> Verdict | None:
        """The budget by measurement (None: not measured)."""
        if self.failure is not None:
            return Verdict(False, (self.failure,), {})
        measured = self.measured
        if measured is None:
            return None
        unavailable = {"power_mw": self.power_unavailable} if self.power_unavailable else None
        verdict = check_budget(measured, budget, self.clock_mhz, unavailable)
        if not self.bit_exact:
            return Verdict(False, (*verdict.violations, "RTL not proven bit-exact"), verdict.use)
        return verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": DESIGN_SCHEMA,
            "design_hash": self.design_hash,
            "target": self.target,
            "clock_mhz": self.clock_mhz,
            "vectors": self.vectors,
            "status": self.status,
            "sim": self.sim,
            "build": self.build,
            "observation": None if self.observation is None else self.observation.to_json(),
            "power_unavailable": self.power_unavailable,
            "vendor": self.vendor,
            "notes": list(self.notes),
        }

    def save(self) -> None:
        atomic_write_text(self.folder / DESIGN_RECORD,
                          json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n")

    @classmethod
    def load(cls, folder: Path) -> DesignRecord | None:
        """The folder's record, or None when there is none or it cannot be trusted."""
        path = folder / DESIGN_RECORD
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("schema") != DESIGN_SCHEMA:
                return None
            observation = (observation_from_json(data["observation"], file=str(path))
                           if data["observation"] else None)
            return cls(
                design_hash=data["design_hash"], folder=folder, target=data["target"],
                clock_mhz=float(data["clock_mhz"]), vectors=int(data["vectors"]),
                status=data["status"], sim=dict(data["sim"]), build=dict(data["build"]),
                observation=observation, power_unavailable=data.get("power_unavailable"),
                vendor=data.get("vendor"), notes=list(data.get("notes", [])),
            )
        except (OSError, ValueError, KeyError, TypeError, ObservationLoadError):
            return None


# --------------------------------------------------------------------------- journal


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)
    return bool(a == b)


def load_journal(path: Path, identity: dict[str, Any]) -> list[dict[str, Any]]:
    """The rounds of an earlier run with the same ``identity`` (network, target, budget…)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--resume: {path} does not exist; nothing to resume (drop --resume)") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"--resume: {path}: cannot read the journal: {error}") from None
    if data.get("schema") != JOURNAL_SCHEMA or not isinstance(data.get("rounds"), list):
        raise UsageError(f"--resume: {path}: expected schema {JOURNAL_SCHEMA}")
    stored = data.get("identity", {})
    for key, value in identity.items():
        if not _same(stored.get(key), value):
            raise UsageError(
                f"--resume: {path} is a loop with {key} = {stored.get(key)!r}, not {value!r}; "
                "use another --out or run without --resume"
            )
    return list(data["rounds"])


def write_journal(path: Path, identity: dict[str, Any], rounds: list[dict[str, Any]],
                  stop: dict[str, Any] | None) -> None:
    document = {"schema": JOURNAL_SCHEMA, "identity": identity, "rounds": rounds, "stop": stop}
    atomic_write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")
