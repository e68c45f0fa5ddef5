"""The record a build leaves behind: status, observation or failure, steps, timings.

It is written as ``build.json`` in the build folder and kept in the build cache, so it
round-trips through JSON exactly (:meth:`BuildResult.to_json` / :func:`result_from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from stochflow.surrogate.evidence import ObservationLoadError, observation_from_json
from stochflow.surrogate.observation import Observation

from .errors import FlowError
from .tool_step import StepResult

RESULT_SCHEMA = "stochflow.build/1"
FailureKind = Literal["timeout", "does_not_fit", "route_failed", "tool_error"]
FAILURE_KINDS: tuple[str, ...] = FailureKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BuildFailure:
    """Why a build produced no observation, and the log that shows it."""

    kind: FailureKind
    step: str
    reason: str
    log_path: str  # absolute path of the kept log

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "step": self.step,
            "reason": self.reason,
            "log_path": self.log_path,
        }


@dataclass(frozen=True)
class BuildResult:
    status: Literal["ok", "failed"]
    design_name: str
    design_hash: str
    target: str
    clock_mhz: float
    out_dir: str
    cache_key: str
    cached: bool
    observation: Observation | None
    failure: BuildFailure | None
    steps: tuple[StepResult, ...] = ()
    artefacts: dict[str, str] = field(default_factory=dict)  # role -> path in out_dir
    tool_seconds: float = 0.0  # wall time inside the tools
    total_seconds: float = 0.0  # wall time of the whole build call

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def harness_seconds(self) -> float:
        return max(0.0, self.total_seconds - self.tool_seconds)

    @property
    def fmax_mhz(self) -> float | None:
        return self.observation.fmax_mhz if self.observation else None

    def artefact(self, role: str) -> Path:
        return Path(self.out_dir) / self.artefacts[role]

    def as_cached(self, seconds: float) -> BuildResult:
        return replace(self, cached=True, total_seconds=seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA,
            "status": self.status,
            "cached": self.cached,
            "design_name": self.design_name,
            "design_hash": self.design_hash,
            "target": self.target,
            "clock_mhz": self.clock_mhz,
            "out_dir": self.out_dir,
            "cache_key": self.cache_key,
            "observation": self.observation.to_json() if self.observation else None,
            "failure": self.failure.to_json() if self.failure else None,
            "steps": [step.to_json() for step in self.steps],
            "artefacts": dict(self.artefacts),
            "tool_seconds": round(self.tool_seconds, 6),
            "total_seconds": round(self.total_seconds, 6),
        }

    def summary_json(self) -> dict[str, Any]:
        """What ``stochflow synth --json`` prints: the observation plus build facts."""
        data: dict[str, Any] = {
            "status": self.status,
            "cached": self.cached,
            "design_name": self.design_name,
            "design_hash": self.design_hash,
            "target": self.target,
            "clock_mhz": self.clock_mhz,
        }
        if self.observation is not None:
            observation = self.observation
            data["device"] = observation.device
            data["resources"] = {n: f.to_json() for n, f in observation.resources.items()}
            data["fmax_mhz"] = observation.fmax_mhz
            data["clocks"] = [clock.to_json() for clock in observation.clocks]
            data["latency_cycles"] = observation.latency_cycles.value
            data["power"] = observation.power.to_json() if observation.power else None
            energy = observation.energy_per_inference_j
            data["energy_per_inference_j"] = energy.to_json() if energy else None
            data["tools"] = dict(observation.tools)
            data["observation"] = observation.to_json()
        if self.failure is not None:
            data["failure"] = self.failure.to_json()
        data["out_dir"] = self.out_dir
        data["tool_seconds"] = round(self.tool_seconds, 3)
        data["total_seconds"] = round(self.total_seconds, 3)
        return data


def result_from_json(data: dict[str, Any]) -> BuildResult:
    """Inverse of :meth:`BuildResult.to_json`; a malformed record is a :class:`FlowError`."""
    try:
        if data.get("schema") != RESULT_SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r} is not {RESULT_SCHEMA!r}")
        failure = data["failure"]
        return BuildResult(
            status=data["status"],
            design_name=data["design_name"],
            design_hash=data["design_hash"],
            target=data["target"],
            clock_mhz=float(data["clock_mhz"]),
            out_dir=data["out_dir"],
            cache_key=data["cache_key"],
            cached=bool(data["cached"]),
            observation=(
                observation_from_json(data["observation"], file="build record")
                if data["observation"]
                else None
            ),
            failure=BuildFailure(**failure) if failure else None,
            steps=tuple(
                StepResult(
                    name=step["name"],
                    argv=tuple(step["argv"]),
                    returncode=step["returncode"],
                    seconds=float(step["seconds"]),
                    output_log=step["output_log"],
                    timed_out=bool(step["timed_out"]),
                    timeout_s=step["timeout_s"],
                )
                for step in data["steps"]
            ),
            artefacts=dict(data["artefacts"]),
            tool_seconds=float(data["tool_seconds"]),
            total_seconds=float(data["total_seconds"]),
        )
    except ObservationLoadError as error:
        raise FlowError(f"build record holds a bad observation: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise FlowError(f"build record is malformed: {error}") from None
