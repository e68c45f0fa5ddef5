"""The executor interface on a real local process pool and a real Dask LocalCluster."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from stochflow.flow.errors import FlowError, UsageError
from stochflow.flow.executors import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    default_jobs,
    make_executor,
)
from test_executors_helpers import fail_on_three, long_tool, square_after, worker_pid


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    return state == "Z"


def _wait_for(path: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.is_file() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _check_interface(executor: Executor) -> None:
    """What both executors promise: results as they complete, tagged, errors handed back."""
    # The slow job is submitted first and finishes last.
    done = list(executor.map(square_after, [(1.5, 2), (0.0, 3)], tag=lambda item: item[1]))
    assert [(c.tag, c.result) for c in done] == [(3, 9), (2, 4)]
    outcomes = {c.tag: c for c in executor.map(fail_on_three, [1, 2, 3, 4])}
    assert sorted(outcomes) == [0, 1, 2, 3]
    failed = outcomes[2]
    assert not failed.ok and isinstance(failed.error, ValueError)
    assert "job 3 failed on purpose" in str(failed.error)
    assert [outcomes[i].result for i in (0, 1, 3)] == [1, 2, 4]


def test_local_pool_hands_back_results_as_they_complete() -> None:
    with LocalExecutor(2) as executor:
        assert executor.workers == 2 and "2 processes" in executor.description
        _check_interface(executor)
        pids = {c.result for c in executor.map(worker_pid, range(6))}
        assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_local_pool_cancels_jobs_not_started() -> None:
    with LocalExecutor(1) as executor:
        first = executor.submit(square_after, (1.0, 1), tag="first")
        rest = [executor.submit(square_after, (0.0, n), tag=n) for n in range(5)]
        time.sleep(0.5)
        dropped = executor.cancel(rest)
        assert dropped >= 3  # at most one job is handed to the busy worker ahead of time
        finished = [c.tag for c in executor.as_completed([first, *rest])]
    assert finished[0] == "first" or "first" in finished
    assert len(finished) == 1 + len(rest) - dropped


def test_interrupt_stops_running_tools_and_returns_quickly(tmp_path: Path) -> None:
    executor = LocalExecutor(2)
    for name in ("a", "b"):
        executor.submit(long_tool, str(tmp_path / name), tag=name)
    queued = executor.submit(long_tool, str(tmp_path / "queued"), tag="queued")
    for name in ("a", "b"):
        _wait_for(tmp_path / name / "tool.pid")
    tools = [int((tmp_path / name / "tool.pid").read_text()) for name in ("a", "b")]
    workers = [int((tmp_path / name / "started").read_text()) for name in ("a", "b")]
    started = time.monotonic()
    executor.close(interrupt=True)
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in tools + workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in tools), "a tool process outlived the interrupt"
    assert all(_gone(pid) for pid in workers)
    # The third job never started: dropped, or refused by the worker it was handed to.
    assert not (tmp_path / "queued").exists()
    assert queued.future.cancelled() or isinstance(queued.future.exception(), KeyboardInterrupt)


def test_choosing_an_executor_is_strict() -> None:
    with pytest.raises(UsageError, match="not both"):
        make_executor(jobs=2, scheduler="tcp://127.0.0.1:8786")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(UsageError, match="--jobs"):
            LocalExecutor(bad)  # type: ignore[arg-type]
    for address in ("127.0.0.1:8786", "http://host:8786", "tcp://", "tcp://a b:1"):
        with pytest.raises(UsageError, match="--scheduler"):
            make_executor(scheduler=address)
    with make_executor() as executor:
        assert isinstance(executor, LocalExecutor) and executor.workers == default_jobs()


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(FlowError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=2)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def test_dask_cluster_through_its_scheduler_address(cluster) -> None:
    with make_executor(scheduler=cluster.scheduler_address) as executor:
        assert isinstance(executor, DaskExecutor)
        assert executor.workers == 2 and cluster.scheduler_address in executor.description
        _check_interface(executor)
        pids = {c.result for c in executor.map(worker_pid, range(8))}
        assert os.getpid() not in pids


def test_dask_cancel_drops_queued_jobs(cluster) -> None:
    with DaskExecutor(cluster.scheduler_address) as executor:
        busy = [executor.submit(square_after, (1.0, n), tag=n) for n in range(2)]
        queued = [executor.submit(square_after, (0.5, n), tag=10 + n) for n in range(4)]
        time.sleep(0.3)
        assert executor.cancel(queued) == 4
        finished = sorted(c.tag for c in executor.as_completed(busy + queued))
    assert finished == [0, 1]
