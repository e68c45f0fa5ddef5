"""Run generated networks on Verilator under the cocotb bench and collect the results.

``simulate`` proves one design bit-exact against the golden model (and optionally
records toggle coverage and a SAIF trace); ``simulate_many`` does the same for many
designs, packing several into each model (:mod:`stochflow.sim.group`) and building and
running models side by side; ``measure_throughput`` times the model alone.

A design is its generated ``sc_network.v`` plus the manifest facts the bench checks
(ports, ``latency_cycles``): :meth:`DesignUnderTest.from_folder` reads them from a
``stochflow generate`` folder, :meth:`DesignUnderTest.generate` writes just the core
RTL for a network (what the equivalence matrix uses).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl import golden
from stochflow.hdl.network import Network

from .build import BuildOptions, ModelBuild, build_model, runtime_ready
from .design import NETWORK_TOP, DesignUnderTest, SimulationCase, checked_inputs
from .errors import SimulationError
from .group import GROUP_TOP, GroupMember, group_wrapper, member_prefix, prefixed_verilog
from .job import DesignOutcome, Difference, write_atomic, write_job
from .launch import SIMULATOR, Progress, run_bench

__all__ = [
    "DesignUnderTest",
    "SimulationCase",
    "SimulationResult",
    "measure_throughput",
    "optimisation_for",
    "simulate",
    "simulate_many",
]

# Where an optimised model's faster run repays its longer build (digits: -Os costs
# ~30 CPU-seconds more to build and saves ~40 µs per simulated cycle).
OPTIMISE_ABOVE_CYCLES = 1_000_000


@dataclass(eq=False)
class SimulationResult:
    """One design's run: whether every vector matched, and what the RTL did."""

    label: str
    design_hash: str
    vectors: int
    vectors_matched: int
    bit_exact: bool
    latencies: list[int]
    cycles: int  # clock cycles from the first start to the last done, summed inferences
    spike_counts: list[np.ndarray]  # per layer, per neuron, summed over vectors (from the RTL)
    observed_counts: np.ndarray  # (vectors, n_out) last-layer counts the RTL produced
    expected: golden.GoldenResult | None
    first_difference: Difference | None
    aborted: str | None
    build: ModelBuild
    run_seconds: float  # the bench's loop, wall time
    clock_cycles: int  # every clock cycle the model ran (reset and idle included)
    work_dir: Path
    simulator: dict[str, str]
    coverage_file: Path | None = None
    coverage_scope: str = ""  # hierarchy prefix of this design in the coverage file
    saif_file: Path | None = None

    def summary(self) -> str:
        line = f"{self.label}: bit-exact {self.vectors_matched}/{self.vectors} vectors"
        if self.first_difference is not None:
            line += f"; first difference: {self.first_difference.describe()}"
        elif self.aborted:
            line += f"; {self.aborted}"
        return line


def _expected(case: SimulationCase) -> golden.GoldenResult:
    return golden.run(case.design.network, case.inputs_q, record_spikes=True)


def _model_sources(
    cases: Sequence[SimulationCase], folder: Path
) -> tuple[list[Path], str, list[str]]:
    """The Verilog files and top of one model, and each case's port prefix."""
    if len(cases) == 1:
        return [cases[0].design.verilog], NETWORK_TOP, [""]
    folder.mkdir(parents=True, exist_ok=True)
    sources, members, prefixes = [], [], []
    for index, case in enumerate(cases):
        prefix = member_prefix(index)
        text = case.design.verilog.read_text(encoding="utf-8")
        path = folder / f"{prefix}{NETWORK_TOP}.v"
        write_atomic(path, prefixed_verilog(text, NETWORK_TOP, prefix))
        sources.append(path)
        members.append(GroupMember(prefix, f"{prefix}{NETWORK_TOP}", case.design.ports))
        prefixes.append(prefix)
    wrapper = folder / f"{GROUP_TOP}.v"
    write_atomic(wrapper, group_wrapper(members))
    return [*sources, wrapper], GROUP_TOP, prefixes


def _results(
    cases: Sequence[SimulationCase],
    expected: Sequence[golden.GoldenResult | None],
    prefixes: Sequence[str],
    document: dict[str, Any],
    build: ModelBuild,
    job_dir: Path,
    coverage_file: Path | None,
    saif_file: Path | None,
) -> list[SimulationResult]:
    version = build.verilator_version
    results = []
    for index, (case, golden_result, prefix) in enumerate(
        zip(cases, expected, prefixes, strict=True)
    ):
        outcome = DesignOutcome.from_dict(document["designs"][index])
        with np.load(job_dir / f"observed{index}.npz") as data:
            observed = data["counts"]
        difference = Difference(**outcome.first_difference) if outcome.first_difference else None
        scope = f"{GROUP_TOP}.{prefix.rstrip('_')}" if prefix else NETWORK_TOP
        results.append(SimulationResult(
            label=case.design.label,
            design_hash=case.design.network.design_hash,
            vectors=int(case.inputs_q.shape[0]),
            vectors_matched=outcome.vectors_matched,
            bit_exact=outcome.bit_exact and outcome.vectors_run == case.inputs_q.shape[0],
            latencies=outcome.latencies,
            cycles=outcome.cycles,
            spike_counts=[np.asarray(counts, dtype=np.int64) for counts in outcome.spike_counts],
            observed_counts=observed,
            expected=golden_result,
            first_difference=difference,
            aborted=outcome.aborted,
            build=build,
            run_seconds=float(document["wall_seconds"]),
            clock_cycles=int(document["clock_cycles"]),
            work_dir=job_dir,
            simulator={"name": SIMULATOR, "version": version},
            coverage_file=coverage_file,
            coverage_scope=scope,
            saif_file=saif_file,
        ))
    return results


def _prepare(
    cases: Sequence[SimulationCase], work_dir: Path, options: BuildOptions,
    cache_dir: Path | None, jobs: int | None,
) -> tuple[ModelBuild, list[str]]:
    sources, top, prefixes = _model_sources(cases, work_dir / "rtl")
    return build_model(sources, top, options, cache_dir=cache_dir, jobs=jobs), prefixes


def _simulate_model(
    cases: Sequence[SimulationCase],
    work_dir: Path,
    build: ModelBuild,
    prefixes: Sequence[str],
    *,
    saif: bool,
    progress: Progress | None,
) -> list[SimulationResult]:
    expected = [_expected(case) for case in cases]
    jobs = [case.design.job(prefix, case.inputs_q, result)
            for case, prefix, result in zip(cases, prefixes, expected, strict=True)]
    job_dir = work_dir / "run"
    write_job(job_dir, jobs, mode="check")
    coverage_file = job_dir / "coverage.dat" if build.options.coverage else None
    saif_file = job_dir / "activity.saif" if saif else None
    for stale in (coverage_file, saif_file):
        if stale is not None:
            stale.unlink(missing_ok=True)
    document = run_bench(build, job_dir, coverage_file=coverage_file, saif_file=saif_file,
                          progress=progress)
    if coverage_file is not None and not coverage_file.is_file():
        raise SimulationError(f"the coverage build wrote no {coverage_file}")
    if saif_file is not None and not saif_file.is_file():
        raise SimulationError(f"the SAIF trace {saif_file} was not written")
    return _results(cases, expected, prefixes, document, build, job_dir, coverage_file, saif_file)


def simulate(
    design: DesignUnderTest,
    inputs_q: np.ndarray,
    work_dir: str | os.PathLike[str],
    *,
    coverage: bool = False,
    saif: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    optimise: str | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate ``inputs_q`` ``(vectors, n_in)`` on ``design`` and check it against the
    golden model. ``coverage`` records per-bit toggle counts (``coverage.dat``),
    ``saif`` a SAIF trace; ``progress(done, total)`` is called while it runs.
    ``optimise`` (the model's C++ optimisation) defaults to :func:`optimisation_for` the
    run's length."""
    case = checked_inputs(SimulationCase(design, inputs_q))
    folder = Path(work_dir)
    cycles = case.inputs_q.shape[0] * design.latency_cycles
    options = BuildOptions(coverage=coverage, saif=saif,
                           optimise=optimise or optimisation_for(cycles))
    build, prefixes = _prepare([case], folder, options, _path(cache_dir), None)
    return _simulate_model([case], folder, build, prefixes, saif=saif, progress=progress)[0]


def optimisation_for(cycles: int) -> str:
    """``-O0`` (fast build) for runs under :data:`OPTIMISE_ABOVE_CYCLES`, else ``-Os``."""
    return "-Os" if cycles > OPTIMISE_ABOVE_CYCLES else "-O0"


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def simulate_many(
    cases: Sequence[SimulationCase],
    work_dir: str | os.PathLike[str],
    *,
    group_size: int = 10,
    jobs: int = 2,
    coverage: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    optimise: str = "-O0",
) -> list[SimulationResult]:
    """Check many designs: ``group_size`` designs per model, ``jobs`` models built and
    run at a time (each build single-threaded). Results come back in ``cases`` order."""
    if not cases:
        return []
    checked = [checked_inputs(case) for case in cases]
    groups = [checked[i:i + group_size] for i in range(0, len(checked), group_size)]
    root = Path(work_dir)
    options = BuildOptions(coverage=coverage, optimise=optimise)

    def one(index_group: tuple[int, list[SimulationCase]]) -> list[SimulationResult]:
        index, group = index_group
        folder = root / f"model{index}"
        build, prefixes = _prepare(group, folder, options, _path(cache_dir), 1)
        return _simulate_model(group, folder, build, prefixes, saif=False, progress=None)

    numbered = list(enumerate(groups))
    per_group: list[list[SimulationResult]] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        if len(groups) > 1 and not runtime_ready(options, _path(cache_dir)):
            # The first build compiles the shared Verilator runtime on every core; the
            # others start after it and reuse the runtime.
            index, group = numbered.pop(0)
            folder = root / f"model{index}"
            build, prefixes = _prepare(group, folder, options, _path(cache_dir), None)
            rest = pool.map(one, numbered)
            per_group.append(_simulate_model(group, folder, build, prefixes, saif=False,
                                             progress=None))
            per_group.extend(rest)
        else:
            per_group.extend(pool.map(one, numbered))
    return [result for group in per_group for result in group]


def measure_throughput(
    network: Network,
    inputs_q: np.ndarray,
    *,
    work_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Cycles per second of the Verilator model of ``network`` under cocotb.

    Inferences run back to back touching only ``start``/``done``; ``wall_seconds`` is the
    bench loop's wall time (no build, no simulator start-up). Returns ``{"cycles",
    "wall_seconds", "simulator", "version", "build_seconds", "build_cpu_seconds",
    "latency_cycles"}`` (build figures are 0 when the model came from the cache).
    """
    inputs = np.asarray(inputs_q)
    with tempfile.TemporaryDirectory(prefix="stochflow-throughput-") as scratch:
        folder = Path(work_dir) if work_dir is not None else Path(scratch)
        design = DesignUnderTest.generate(network, folder / "rtl")
        case = checked_inputs(SimulationCase(design, inputs))
        build, prefixes = _prepare([case], folder, BuildOptions(), _path(cache_dir), None)
        job_dir = folder / "run"
        write_job(job_dir, [design.job(prefixes[0], case.inputs_q, None)], mode="throughput")
        document = run_bench(build, job_dir, coverage_file=None, saif_file=None, progress=None)
    outcome = DesignOutcome.from_dict(document["designs"][0])
    if outcome.vectors_run != inputs.shape[0]:
        raise SimulationError(f"the throughput run finished {outcome.vectors_run} of "
                              f"{inputs.shape[0]} inferences")
    return {
        "cycles": int(outcome.cycles),
        "wall_seconds": float(document["wall_seconds"]),
        "simulator": SIMULATOR,
        "version": build.verilator_version,
        "build_seconds": build.seconds,
        "build_cpu_seconds": build.cpu_seconds,
        "latency_cycles": sorted(set(outcome.latencies)),
    }
