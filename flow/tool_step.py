"""Running one tool step: argument list, working folder, captured output, hard timeout.

Tools run from an argument list (never a shell string) in the build folder, because the
YoWASP tools can only see files under their working directory. Each step's stdout and
stderr go to a kept log file. A step that outlives its timeout is killed with its whole
process group, so no WebAssembly worker is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StepResult:
    name: str  # yosys / nextpnr / pack
    argv: tuple[str, ...]
    returncode: int | None  # None when killed on timeout
    seconds: float
    output_log: str  # captured stdout+stderr, relative to the build folder
    timed_out: bool
    timeout_s: float | None

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.returncode == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "argv": list(self.argv),
            "returncode": self.returncode,
            "seconds": round(self.seconds, 6),
            "output_log": self.output_log,
            "timed_out": self.timed_out,
            "timeout_s": self.timeout_s,
        }


def run_step(
    name: str,
    argv: Sequence[str],
    cwd: Path,
    output_log: str,
    timeout_s: float | None,
    env: dict[str, str] | None = None,
) -> StepResult:
    """Run ``argv`` in ``cwd``; stdout+stderr go to ``cwd/output_log``."""
    argv = tuple(str(arg) for arg in argv)
    started = time.perf_counter()
    with (cwd / output_log).open("wb") as sink:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        try:
            returncode: int | None = process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(process)
            returncode, timed_out = None, True
        except BaseException:
            _kill_group(process)
            raise
    return StepResult(
        name=name,
        argv=argv,
        returncode=returncode,
        seconds=time.perf_counter() - started,
        output_log=output_log,
        timed_out=timed_out,
        timeout_s=timeout_s,
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
