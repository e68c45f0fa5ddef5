"""Jobs the executor tests run in worker processes (importable by name from a worker)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from stochflow.flow.tool_step import run_step


def square_after(seconds_and_value: tuple[float, int]) -> int:
    """``value ** 2`` after ``seconds``: lets a test choose the completion order."""
    seconds, value = seconds_and_value
    time.sleep(seconds)
    return value * value


def fail_on_three(value: int) -> int:
    if value == 3:
        raise ValueError(f"job {value} failed on purpose")
    return value


def worker_pid(_: object) -> int:
    return os.getpid()


def long_tool(folder: str) -> str:
    """A 'tool' (``sleep 300``) run the way builds run theirs; writes its pid first."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "started").write_text(str(os.getpid()))
    step = run_step("sleep", ["sh", "-c", "echo $$ > tool.pid; exec sleep 300"], out, "t.log", 600)
    return f"finished with {step.returncode}"
