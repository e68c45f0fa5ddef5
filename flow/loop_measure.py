"""Measuring one design for the loop: simulate it, score it, build it, join the figures.

Two independent jobs run on the executor's workers for every design, side by side:

- :func:`simulate_design`: the generated RTL on Verilator under the cocotb bench,
  checked bit for bit against the golden model on held-out samples, with toggle
  coverage (``activity.json``); then the golden model's accuracy on the whole held-out
  split. The simulation has just proved the golden model equal to the RTL on those
  vectors, so its accuracy is the design's.
- :func:`synthesise_design`: Yosys + nextpnr (:func:`stochflow.flow.synth.build`),
  answered from the build cache when the design was built before.

When both are done, :func:`join_measurements` applies the activity power model to the
build's observation (the figure ``stochflow synth --activity`` gives: power at the
constraint or at Fmax when timing missed it, energy per inference) and adds the
accuracy. The build runs without the simulation's activity so that the two need not
wait for each other, and so that a design the power model cannot price (block RAM)
still keeps its build.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl.errors import SpecError
from stochflow.hdl.network import Network
from stochflow.surrogate.observation import Figure, Observation

from .errors import FlowError, UsageError

__all__ = [
    "SIM_OPTIMISE",
    "MeasureSettings",
    "PowerOutcome",
    "SimOutcome",
    "float_accuracy",
    "golden_accuracy",
    "join_measurements",
    "simulate_design",
    "synthesise_design",
]

ACTIVITY_FILE = "activity.json"
SIMULATION_FOLDER = "simulation"
ACCURACY_SOURCE = "sim:golden"
FLOAT_SOURCE = "float:numpy"
# The model is run once per design: a fast C++ compile beats a fast model (a digits
# model compiles in ~40 s at -O0 against ~150 s at -Os; it runs ~2× slower).
SIM_OPTIMISE = "-O0"


@dataclass(frozen=True)
class MeasureSettings:
    """What every design of one loop is measured with."""

    target: str
    clock_mhz: float
    vectors: int
    store_path: Path
    dataset: str | None = None
    build_cache_dir: Path | None = None  # None: the evidence store's cache table
    sim_cache_dir: Path | None = None  # None: the simulator's default model cache
    step_timeout_s: float = 1800.0


@dataclass(frozen=True)
class SimOutcome:
    """What the simulation proved and measured (``error``: it could not be run)."""

    design_hash: str
    bit_exact: bool = False
    vectors: int = 0
    vectors_matched: int = 0
    first_difference: str | None = None
    cycles_per_inference: int | None = None
    activity_path: str | None = None
    toggle_rate: float | None = None
    accuracy: float | None = None
    accuracy_samples: int | None = None
    reused: bool = False
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def golden_accuracy(network: Network, dataset: str | None) -> tuple[float | None, int | None]:
    """Fraction of the held-out split the golden model classifies right (None: no dataset)."""
    if dataset is None:
        return None, None
    from stochflow.hdl import golden
    from stochflow.hdl.dataset import load_dataset

    data = load_dataset(dataset)
    predicted = golden.predict(network, data.x_test)
    return float(np.mean(predicted == data.y_test)), len(data.y_test)


def float_accuracy(spec: Any) -> float | None:
    """Held-out accuracy of the spec's float network (ReLU MLP on the float weights)."""
    if spec.dataset is None:
        return None
    data = spec.load_dataset()
    activations = data.x_test
    for layer in spec.float_layers[:-1]:
        activations = np.maximum(activations @ layer.weight.T + layer.bias, 0.0)
    last = spec.float_layers[-1]
    predicted = np.argmax(activations @ last.weight.T + last.bias, axis=1)
    return float(np.mean(predicted == data.y_test))


def _reusable_activity(path: Path, network: Network, vectors: int) -> dict[str, Any] | None:
    """A complete earlier activity.json of this design with at least ``vectors`` vectors."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (document.get("design_hash") != network.design_hash or document.get("bit_exact") is not True
            or int(document.get("vectors", 0)) < vectors or not document.get("toggles")):
        return None
    return document


def _toggle_rate(path: Path) -> float | None:
    from .power_model import read_activity

    try:
        return read_activity(path).toggle_rate
    except (UsageError, FlowError):
        return None


def simulate_design(network: Network, design_dir: Path, settings: MeasureSettings) -> SimOutcome:
    """Prove the design's RTL bit-exact on Verilator, record activity, score accuracy."""
    from stochflow.sim.activity import activity_document, write_activity
    from stochflow.sim.coverage import read_toggle_coverage
    from stochflow.sim.errors import SimulationError
    from stochflow.sim.runner import NETWORK_TOP, DesignUnderTest, simulate
    from stochflow.sim.vectors import dataset_vectors, random_vectors

    started = time.perf_counter()
    activity = design_dir / ACTIVITY_FILE
    earlier = _reusable_activity(activity, network, settings.vectors)
    try:
        if earlier is not None:
            document, reused = earlier, True
        else:
            vectors = (dataset_vectors(network, settings.dataset, settings.vectors)
                       if settings.dataset else random_vectors(network, settings.vectors))
            design = DesignUnderTest.from_folder(design_dir, network)
            result = simulate(design, vectors.inputs_q, design_dir / SIMULATION_FOLDER,
                              coverage=True, cache_dir=settings.sim_cache_dir,
                              optimise=SIM_OPTIMISE)
            toggles = None
            if result.coverage_file is not None:
                toggles = read_toggle_coverage(result.coverage_file).rooted(
                    result.coverage_scope, NETWORK_TOP)
            document = activity_document(network, result, toggles=toggles, inputs=vectors.origin)
            write_activity(activity, document)
            reused = False
            if not result.bit_exact:
                reason = (result.first_difference.describe() if result.first_difference
                          else result.aborted or "the run did not finish every vector")
                return SimOutcome(network.design_hash, False, result.vectors, result.vectors_matched,
                                  reason, None, str(activity), None, None, None, False,
                                  time.perf_counter() - started)
        accuracy, samples = golden_accuracy(network, settings.dataset)
    except (SimulationError, SpecError, OSError) as error:
        return SimOutcome(network.design_hash, error=f"{type(error).__name__}: {error}",
                          seconds=time.perf_counter() - started)
    return SimOutcome(
        design_hash=network.design_hash,
        bit_exact=bool(document["bit_exact"]),
        vectors=int(document["vectors"]),
        vectors_matched=int(document["vectors_matched"]),
        first_difference=None,
        cycles_per_inference=document.get("cycles_per_inference"),
        activity_path=str(activity),
        toggle_rate=_toggle_rate(activity),
        accuracy=accuracy,
        accuracy_samples=samples,
        reused=reused,
        seconds=time.perf_counter() - started,
    )


def synthesise_design(design_json: Path, out_dir: Path, settings: MeasureSettings) -> dict[str, Any]:
    """Build one design on an open target; the build record as JSON (picklable anywhere).

    The build cache is the evidence store's cache table (workers on this host) or a
    folder (workers elsewhere). Observations and failures are written to the store by
    the loop itself, once the simulation's figures are joined.
    """
    from .cache import DirectoryCache, StoreCache
    from .store import EvidenceStore
    from .synth import build

    if settings.build_cache_dir is not None:
        result = build(design_json, settings.target, settings.clock_mhz, out_dir,
                       step_timeout_s=settings.step_timeout_s,
                       cache=DirectoryCache(settings.build_cache_dir))
    else:
        with EvidenceStore(settings.store_path) as store:
            result = build(design_json, settings.target, settings.clock_mhz, out_dir,
                           step_timeout_s=settings.step_timeout_s, cache=StoreCache(store))
    return result.to_json()


@dataclass(frozen=True)
class PowerOutcome:
    """The observation with power (when the model could price it) and why not otherwise."""

    observation: Observation
    unavailable: str | None = None


def join_measurements(
    observation: Observation, sim: SimOutcome, target: str, clock_mhz: float
) -> PowerOutcome:
    """The build's observation with the activity model's power and the golden accuracy."""
    from .design_file import sha256_file
    from .power_model import estimate_power

    joined = observation
    if sim.accuracy is not None:
        joined = replace(joined, accuracy=Figure(sim.accuracy, ACCURACY_SOURCE))
    if sim.activity_path is None:
        return PowerOutcome(joined, "no activity was recorded")
    fmax = observation.fmax_mhz
    clock = clock_mhz if fmax is None else min(clock_mhz, fmax)
    try:
        estimate = estimate_power(target, observation, sim.activity_path, clock)
    except (UsageError, FlowError) as error:
        return PowerOutcome(joined, str(error))
    figure = estimate.figure()
    energy = None
    if fmax is not None:
        energy = Figure(estimate.energy_per_inference_j(int(observation.latency_cycles.value)),
                        figure.source)
    provenance = {**observation.provenance, "activity": sha256_file(Path(sim.activity_path))}
    return PowerOutcome(replace(joined, power=figure, energy_per_inference_j=energy,
                                provenance=provenance))
