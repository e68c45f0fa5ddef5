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

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl import golden
from stochflow.hdl.errors import SpecError
from stochflow.hdl.network import Network

from .build import BuildOptions, ModelBuild, build_model, runtime_ready
from .errors import SimulationError
from .group import GROUP_TOP, GroupMember, group_wrapper, member_prefix, prefixed_verilog
from .job import (
    JOB_ENV,
    PROGRESS_FILE,
    RESULT_FILE,
    DesignJob,
    DesignOutcome,
    Difference,
    write_atomic,
    write_job,
)

__all__ = [
    "DesignUnderTest",
    "SimulationCase",
    "SimulationResult",
    "measure_throughput",
    "simulate",
    "simulate_many",
]

NETWORK_TOP = "sc_network"
BENCH_MODULE = "stochflow.sim.bench_network"
SIMULATOR = "verilator"
Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class DesignUnderTest:
    """A network and its generated core RTL, with the manifest facts the bench checks."""

    network: Network
    verilog: Path
    ports: list[dict[str, Any]]
    latency_cycles: int
    label: str

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], network: Network) -> DesignUnderTest:
        """A ``stochflow generate`` folder; its design.json must describe ``network``."""
        root = Path(folder)
        try:
            manifest = json.loads((root / "design.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise SimulationError(f"{root / 'design.json'}: cannot read the manifest ({error})") \
                from None
        if manifest.get("design_hash") != network.design_hash:
            raise SimulationError(
                f"{root / 'design.json'}: design_hash {str(manifest.get('design_hash'))[:12]} "
                f"is not the network's ({network.design_hash[:12]})"
            )
        verilog = root / manifest["rtl"]["file"]
        try:
            digest = hashlib.sha256(verilog.read_bytes()).hexdigest()
        except OSError as error:
            raise SimulationError(f"{verilog}: cannot read the RTL ({error.strerror})") from None
        if digest != manifest["rtl"]["sha256"]:
            raise SimulationError(f"{verilog}: changed since design.json was written (sha256)")
        return cls(network, verilog, list(manifest["ports"]), int(manifest["latency_cycles"]),
                   manifest.get("name", network.config.name))

    @classmethod
    def generate(
        cls, network: Network, folder: str | os.PathLike[str], label: str | None = None
    ) -> DesignUnderTest:
        """Write only ``sc_network.v`` for ``network`` into ``folder`` (no board, no manifest)."""
        from stochflow.hdl.generate import NETWORK_FILE, network_ports, network_verilog
        from stochflow.hdl.rtl_network import latency_cycles

        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        path = root / NETWORK_FILE
        write_atomic(path, network_verilog(network))
        return cls(network, path, network_ports(network), latency_cycles(network),
                   label or network.config.name)

    def job(self, prefix: str, inputs_q: np.ndarray, expected: golden.GoldenResult | None) -> DesignJob:
        layers = self.network.layers
        return DesignJob(
            label=self.label,
            prefix=prefix,
            layer_names=[layer.name for layer in layers],
            layer_outputs=[layer.n_out for layer in layers],
            layer_lengths=[layer.bitstream_length for layer in layers],
            input_precision=layers[0].precision,
            count_bits=layers[-1].count_bits,
            latency_cycles=self.latency_cycles,
            inputs_q=inputs_q,
            expected_counts=None if expected is None else expected.counts[-1],
            expected_spikes=None if expected is None else expected.spikes,
        )


@dataclass(frozen=True, eq=False)
class SimulationCase:
    design: DesignUnderTest
    inputs_q: np.ndarray


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
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = f"{self.label}: bit-exact {self.vectors_matched}/{self.vectors} vectors"
        if self.first_difference is not None:
            line += f"; first difference: {self.first_difference.describe()}"
        elif self.aborted:
            line += f"; {self.aborted}"
        return line


def _simulator_version() -> str:
    from .toolchain import toolchain

    return toolchain().verilator_version


def _expected(case: SimulationCase) -> golden.GoldenResult:
    return golden.run(case.design.network, case.inputs_q, record_spikes=True)


def _check_inputs(case: SimulationCase) -> np.ndarray:
    """Quantised inputs ``(vectors ≥ 1, n_in)``, integers ``0 … 2^p`` (as the golden model)."""
    first = case.design.network.layers[0]
    inputs = np.asarray(case.inputs_q)
    if inputs.ndim != 2 or inputs.shape[1] != first.n_in or inputs.shape[0] < 1:
        raise SpecError("inputs", f"expected shape (vectors ≥ 1, {first.n_in}), got {inputs.shape}")
    if not np.issubdtype(inputs.dtype, np.integer):
        raise SpecError("inputs", f"expected quantised integers, got dtype {inputs.dtype}")
    limit = 1 << first.precision
    if int(inputs.min()) < 0 or int(inputs.max()) > limit:
        raise SpecError("inputs", f"expected values 0…{limit}, got {int(inputs.min())}…{int(inputs.max())}")
    return inputs.astype(np.int64)


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


def _run_bench(
    build: ModelBuild,
    job_dir: Path,
    *,
    coverage_file: Path | None,
    saif_file: Path | None,
    progress: Progress | None,
) -> dict[str, Any]:
    from cocotb_tools.runner import get_runner

    runner = get_runner(SIMULATOR)
    plusargs = [f"+verilator+coverage+file+{coverage_file}"] if coverage_file else []
    test_args = ["--trace", "--trace-file", str(saif_file)] if saif_file else []
    log = job_dir / "sim.log"
    failure: list[BaseException] = []

    def run() -> None:
        try:
            runner.test(
                test_module=BENCH_MODULE,
                hdl_toplevel=build.top,
                hdl_toplevel_lang="verilog",
                build_dir=build.directory,
                test_dir=job_dir,
                extra_env={JOB_ENV: str(job_dir / "job.json")},
                plusargs=plusargs,
                test_args=test_args,
                results_xml=str(job_dir / "results.xml"),
                log_file=log,
            )
        except SystemExit as stop:  # the runner exits when a test failed under pytest
            if stop.code not in (0, 1, None):
                failure.append(stop)
        except BaseException as error:
            failure.append(error)

    if progress is None:
        run()
    else:
        worker = threading.Thread(target=run, name="cocotb-bench", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
            _report_progress(job_dir / PROGRESS_FILE, progress)
        _report_progress(job_dir / PROGRESS_FILE, progress)
    result_path = job_dir / RESULT_FILE
    if not result_path.is_file():
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]) \
            if log.is_file() else "(no log)"
        cause = f" ({failure[0]!r})" if failure else ""
        raise SimulationError(f"the simulation wrote no result{cause}; log {log}:\n{tail}")
    return json.loads(result_path.read_text(encoding="utf-8"))


def _report_progress(path: Path, progress: Progress) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    progress(int(data["done"]), int(data["total"]))


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
    document = _run_bench(build, job_dir, coverage_file=coverage_file, saif_file=saif_file,
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
    optimise: str = "-Os",
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate ``inputs_q`` ``(vectors, n_in)`` on ``design`` and check it against the
    golden model. ``coverage`` records per-bit toggle counts (``coverage.dat``),
    ``saif`` a SAIF trace; ``progress(done, total)`` is called while it runs."""
    case = SimulationCase(design, _check_inputs(SimulationCase(design, inputs_q)))
    folder = Path(work_dir)
    options = BuildOptions(coverage=coverage, saif=saif, optimise=optimise)
    build, prefixes = _prepare([case], folder, options, _path(cache_dir), None)
    return _simulate_model([case], folder, build, prefixes, saif=saif, progress=progress)[0]


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def simulate_many(
    cases: Sequence[SimulationCase],
    work_dir: str | os.PathLike[str],
    *,
    group_size: int = 8,
    jobs: int = 2,
    coverage: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    optimise: str = "-O0",
) -> list[SimulationResult]:
    """Check many designs: ``group_size`` designs per model, ``jobs`` models built and
    run at a time (each build single-threaded). Results come back in ``cases`` order."""
    if not cases:
        return []
    checked = [SimulationCase(case.design, _check_inputs(case)) for case in cases]
    groups = [checked[i:i + group_size] for i in range(0, len(checked), group_size)]
    root = Path(work_dir)
    options = BuildOptions(coverage=coverage, optimise=optimise)

    def one(index_group: tuple[int, list[SimulationCase]]) -> list[SimulationResult]:
        index, group = index_group
        folder = root / f"model{index}"
        build, prefixes = _prepare(group, folder, options, _path(cache_dir), 1)
        return _simulate_model(group, folder, build, prefixes, saif=False, progress=None)

    numbered = list(enumerate(groups))
    first: list[list[SimulationResult]] = []
    if len(groups) > 1 and not runtime_ready(options, _path(cache_dir)):
        # The first build compiles the shared Verilator runtime on every core; the
        # others then reuse it instead of each compiling it at once.
        index, group = numbered.pop(0)
        folder = root / f"model{index}"
        build, prefixes = _prepare(group, folder, options, _path(cache_dir), None)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            rest = pool.map(one, numbered)
            first.append(_simulate_model(group, folder, build, prefixes, saif=False,
                                         progress=None))
            per_group = first + list(rest)
    else:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            per_group = list(pool.map(one, numbered))
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
        case = SimulationCase(design, _check_inputs(SimulationCase(design, inputs)))
        build, prefixes = _prepare([case], folder, BuildOptions(), _path(cache_dir), None)
        job_dir = folder / "run"
        write_job(job_dir, [design.job(prefixes[0], case.inputs_q, None)], mode="throughput")
        document = _run_bench(build, job_dir, coverage_file=None, saif_file=None, progress=None)
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
