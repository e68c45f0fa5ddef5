"""Start the cocotb bench on a built model and collect what it wrote.

The simulator runs as a subprocess through ``cocotb_tools.runner`` (which sets up the
embedded Python, the VPI library and the test module); the bench writes its results
into the job folder, so a failing check still leaves a result to read. While it runs,
``progress(done, total)`` is fed from the bench's ``progress.json``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .build import ModelBuild
from .errors import SimulationError
from .job import JOB_ENV, JOB_FILE, PROGRESS_FILE, RESULT_FILE

__all__ = ["BENCH_MODULE", "SIMULATOR", "Progress", "run_bench"]

BENCH_MODULE = "stochflow.sim.bench_network"
SIMULATOR = "verilator"
Progress = Callable[[int, int], None]


def run_bench(
    build: ModelBuild,
    job_dir: Path,
    *,
    coverage_file: Path | None,
    saif_file: Path | None,
    progress: Progress | None,
) -> dict[str, Any]:
    """Run the bench on ``build`` with the job in ``job_dir``; returns ``result.json``."""
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
                extra_env={JOB_ENV: str(job_dir / JOB_FILE)},
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
