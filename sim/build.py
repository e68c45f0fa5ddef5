"""Verilator model builds for the cocotb benches, cached by content.

A model is keyed by the sha256 of its sources, top, build options and tool versions
(:func:`build_key`); an unchanged design is built once per cache folder. Three things
keep a build short, each measured on the 2-core CI machine (``docs/simulation.md``):

- the Verilator runtime (``verilated*.cpp``, ~7 CPU-seconds, the same for every model
  with the same options) is compiled once and its objects are reused by later builds;
- a model is compiled as one translation unit (``VM_PARALLEL_BUILDS=0``), which skips
  the two precompiled headers (~4 CPU-seconds); only a large one built with several
  cores is split so ``make`` can use them all;
- only the top module's signals are made VPI-visible (``public_flat_rw`` in a control
  file) rather than every signal (``--public-flat-rw``), so Verilator keeps optimising
  the inside of the design.

A build happens in a temporary folder that is renamed into the cache when complete, so
the cache never holds half a model. Processes that want the same model at once take a
lock on its key: one builds, the others wait and reuse it (likewise for the runtime).
Objects are deleted after linking: a cached model is the executable and its build log.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: builds are not coordinated between processes
    fcntl = None  # type: ignore[assignment]

from .errors import SimulationError
from .toolchain import Toolchain, make_overrides, toolchain, verilator_environment

__all__ = [
    "BuildOptions",
    "ModelBuild",
    "build_key",
    "build_model",
    "default_cache_dir",
    "runtime_ready",
]

KEY_SCHEMA = "stochflow.sim-build/1"
MANIFEST = "build.json"
MODELS, RUNTIME, STAGING, LOCKS = "models", "runtime", "staging", "locks"
RUNTIME_OBJECTS = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads",
                   "verilated_cov", "verilated_saif_c")
# Above this much generated C++ the model is split into files compiled in parallel.
SPLIT_ABOVE_BYTES = 3_000_000
KEEP_MODELS = 64
STAGING_HOURS = 12
_WARNINGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")


def default_cache_dir() -> Path:
    """``$STOCHFLOW_SIM_CACHE``, else ``$XDG_CACHE_HOME/stochflow/verilator``."""
    override = os.environ.get("STOCHFLOW_SIM_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stochflow" / "verilator"


@dataclass(frozen=True)
class BuildOptions:
    """What changes the compiled model (and therefore the cache key).

    ``coverage``: per-bit toggle counters (``--coverage-toggle``), written to a
    ``coverage.dat`` at the end of a run. ``saif``: SAIF tracing support
    (``--trace-saif``). ``optimise``: the C++ optimisation of the model's per-cycle code
    (``-O0`` builds the digits network in half the CPU time of ``-Os`` and runs it at
    half the speed: the right trade below a million or so simulated cycles).
    """

    coverage: bool = False
    saif: bool = False
    optimise: str = "-Os"

    def verilator_flags(self) -> list[str]:
        flags = [*_WARNINGS, "--x-assign", "fast", "--x-initial", "fast"]
        if self.coverage:
            flags.append("--coverage-toggle")
        if self.saif:
            flags.append("--trace-saif")
        return flags


@dataclass(frozen=True)
class ModelBuild:
    """A built model: the cocotb runner's ``build_dir`` and ``hdl_toplevel``."""

    directory: Path
    top: str
    key: str
    options: BuildOptions
    seconds: float  # wall time of the build that made it (0 when it came from the cache)
    cpu_seconds: float  # CPU time of Verilator and the compiler (0 from the cache)
    cached: bool
    verilator_version: str

    @property
    def executable(self) -> Path:
        return self.directory / self.top


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cocotb_main() -> Path:
    import cocotb_tools.config as cocotb_config

    return Path(cocotb_config.share_dir) / "lib" / "verilator" / "verilator.cpp"


def build_key(
    sources: Sequence[Path], top: str, options: BuildOptions, tools: Toolchain
) -> str:
    """sha256 of everything that decides the compiled model."""
    document = {
        "schema": KEY_SCHEMA,
        "top": top,
        "sources": [[path.name, _sha256_file(path)] for path in sources],
        "options": asdict(options),
        "flags": options.verilator_flags(),
        "tools": tools.fingerprint(),
        "main": _sha256_file(_cocotb_main()),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _runtime_key(options: BuildOptions, tools: Toolchain) -> str:
    document = {"tools": tools.fingerprint(), "coverage": options.coverage, "saif": options.saif}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:24]


def _control_file(top: str) -> str:
    """Only the top's ports need VPI access; the design inside stays fully optimised."""
    return f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n'


def _run(command: list[str], log: Path, env: dict[str, str], what: str, cwd: Path) -> float:
    """Run one build step into the log; returns its CPU seconds (children included)."""
    with log.open("a", encoding="utf-8") as stream:
        stream.write(f"$ {' '.join(command)}\n")
        stream.flush()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stream,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
        raise SimulationError(f"{what} failed (exit {process.returncode}); log {log}:\n{tail}")
    return usage.ru_utime + usage.ru_stime


def _seed_runtime(cache: Path, key: str, build_dir: Path) -> bool:
    folder = cache / RUNTIME / key
    if not folder.is_dir():
        return False
    for item in folder.iterdir():
        shutil.copy2(item, build_dir / item.name)
        os.utime(build_dir / item.name)  # newer than the runtime sources: make keeps them
    return True


def _save_runtime(cache: Path, key: str, build_dir: Path) -> None:
    target = cache / RUNTIME / key
    if target.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{key}."))
    try:
        for name in RUNTIME_OBJECTS:
            for suffix in (".o", ".d"):
                item = build_dir / f"{name}{suffix}"
                if item.is_file():
                    shutil.copy2(item, staging / item.name)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another build saved it first


def _generated_bytes(build_dir: Path) -> int:
    return sum(path.stat().st_size for path in build_dir.glob("Vtop*.cpp"))


def _strip(build_dir: Path, top: str) -> None:
    """Keep the executable, the log and the inputs; objects and C++ are rebuilt from them."""
    keep = {top, MANIFEST, "build.log", "src", "top.vlt"}
    for item in build_dir.iterdir():
        if item.name in keep:
            continue
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)


def _clear_abandoned(staging: Path) -> None:
    """Staging folders of builds that were killed (no cleanup ran) and are long dead."""
    horizon = time.time() - STAGING_HOURS * 3600
    for item in staging.iterdir():
        try:
            if item.stat().st_mtime < horizon:
                shutil.rmtree(item, ignore_errors=True)
        except OSError:
            continue


def _prune(models: Path, keep: int) -> None:
    entries = [path for path in models.iterdir() if (path / MANIFEST).is_file()]
    if len(entries) <= keep:
        return
    entries.sort(key=lambda path: (path / MANIFEST).stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def build_model(
    sources: Sequence[str | os.PathLike[str]],
    top: str,
    options: BuildOptions | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
) -> ModelBuild:
    """Build (or find in the cache) the cocotb/Verilator model of ``sources`` with ``top``.

    ``jobs`` bounds ``make -j`` (default: every core). Processes asking for the same
    model at once build it once (the others wait for it); a build that needs the
    Verilator runtime compiled first holds the runtime's lock, so it is compiled once.
    Raises :class:`SimulationError` when a tool is missing or Verilator/the compiler
    fails, with the log's tail.
    """
    options = options or BuildOptions()
    paths = [Path(source).resolve() for source in sources]
    for path in paths:
        if not path.is_file():
            raise SimulationError(f"{path}: no such Verilog source")
    tools = toolchain()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = build_key(paths, top, options, tools)
    found = _cached(cache, key, top, options, tools)
    if found is not None:
        return found
    with _locked(cache / LOCKS / f"{key}.lock"):
        found = _cached(cache, key, top, options, tools)
        if found is not None:
            return found
        runtime_key = _runtime_key(options, tools)
        if (cache / RUNTIME / runtime_key).is_dir():
            return _build_and_store(cache, key, paths, top, options, tools, jobs)
        with _locked(cache / LOCKS / f"runtime-{runtime_key}.lock"):
            return _build_and_store(cache, key, paths, top, options, tools, jobs)


def _cached(cache: Path, key: str, top: str, options: BuildOptions,
            tools: Toolchain) -> ModelBuild | None:
    final = cache / MODELS / key
    if not ((final / MANIFEST).is_file() and (final / top).is_file()):
        return None
    os.utime(final / MANIFEST)  # recently used: kept by pruning
    return ModelBuild(final, top, key, options, 0.0, 0.0, True, tools.verilator_version)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (a no-op where fcntl is missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        if fcntl is None:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_and_store(
    cache: Path, key: str, paths: list[Path], top: str, options: BuildOptions,
    tools: Toolchain, jobs: int | None,
) -> ModelBuild:
    final = cache / MODELS / key
    (cache / STAGING).mkdir(parents=True, exist_ok=True)
    _clear_abandoned(cache / STAGING)
    staging = Path(tempfile.mkdtemp(dir=cache / STAGING, prefix=f"{key[:16]}."))
    started = time.perf_counter()
    try:
        cpu = _build_in(staging, paths, top, options, tools, cache, jobs)
        seconds = time.perf_counter() - started
        manifest = {"key": key, "top": top, "options": asdict(options),
                    "tools": tools.fingerprint(), "seconds": round(seconds, 3),
                    "cpu_seconds": round(cpu, 3),
                    "sources": [path.name for path in paths]}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging, final)
        except OSError:
            if not (final / MANIFEST).is_file():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # built concurrently elsewhere
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(final.parent, KEEP_MODELS)
    return ModelBuild(final, top, key, options, seconds, cpu, False, tools.verilator_version)


def runtime_ready(options: BuildOptions, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether the Verilator runtime for ``options`` is already compiled in the cache."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return (cache / RUNTIME / _runtime_key(options, toolchain())).is_dir()


def _build_in(
    build_dir: Path,
    paths: list[Path],
    top: str,
    options: BuildOptions,
    tools: Toolchain,
    cache: Path,
    jobs: int | None,
) -> float:
    import cocotb_tools.config as cocotb_config

    source_dir = build_dir / "src"
    source_dir.mkdir()
    copies = []
    for index, path in enumerate(paths):
        copy = source_dir / (path.name if path.name not in {c.name for c in copies}
                             else f"{index}_{path.name}")
        shutil.copy2(path, copy)
        copies.append(copy)
    control = build_dir / "top.vlt"
    control.write_text(_control_file(top), encoding="utf-8")
    libs = cocotb_config.libs_dir
    env = verilator_environment()
    log = build_dir / "build.log"
    verilate = [
        str(tools.verilator), "-cc", "--exe", "-Mdir", str(build_dir),
        "--top-module", top, "--vpi", "--prefix", "Vtop", "-o", top,
        "-LDFLAGS", f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
        *options.verilator_flags(), str(control), str(_cocotb_main()),
        *(str(copy) for copy in copies),
    ]
    cpu = _run(verilate, log, env, "Verilator", build_dir)
    runtime_key = _runtime_key(options, tools)
    _seed_runtime(cache, runtime_key, build_dir)
    cores = jobs or os.cpu_count() or 1
    split = cores > 1 and _generated_bytes(build_dir) > SPLIT_ABOVE_BYTES
    make = [
        tools.make, "-j", str(cores), "-C", str(build_dir), "-f", "Vtop.mk",
        *make_overrides(tools),
        # Verilator's defaults for the rest: run-once code unoptimised, the runtime -Os.
        f"OPT_FAST={options.optimise}", "OPT_SLOW=", "OPT_GLOBAL=-Os",
        f"VM_PARALLEL_BUILDS={1 if split else 0}",
    ]
    cpu += _run(make, log, env, "the C++ build of the Verilator model", build_dir)
    _save_runtime(cache, runtime_key, build_dir)
    if not (build_dir / top).is_file():
        raise SimulationError(f"the model build left no executable {build_dir / top}")
    _strip(build_dir, top)
    return cpu
