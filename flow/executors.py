"""One interface for running many independent jobs in parallel: a local pool or Dask.

A sweep does not care where its builds run. :class:`Executor` offers ``submit`` /
``map`` (results handed back as they complete, in completion order), ``cancel`` and
``close``; :class:`LocalExecutor` runs jobs in a pool of local processes
(``--jobs N``), :class:`DaskExecutor` on a Dask distributed cluster
(``--scheduler tcp://HOST:PORT``). dask-jobqueue reaches Slurm, PBS or LSF the same way:
start a ``SLURMCluster`` (or ``PBSCluster``, ``LSFCluster``), scale it, and give its
``scheduler_address`` to ``--scheduler`` (see ``docs/sweep.md``).

Interrupting (Ctrl-C) is part of the contract: ``close(interrupt=True)`` drops every job
not yet started and, in a local pool, interrupts the running ones so that each stops
its tool processes and rolls back what it was writing. Jobs are plain functions, so a
job that is interrupted half-way leaves nothing behind that a re-run would trust.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import multiprocessing
import os
import re
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FlowError, UsageError

__all__ = [
    "Completed",
    "DaskExecutor",
    "Executor",
    "Job",
    "LocalExecutor",
    "default_jobs",
    "make_executor",
]

# Seconds a local worker gets to stop its tools after an interrupt before it is killed.
INTERRUPT_GRACE_S = 20.0
_SCHEDULER = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://[^\s/]+$")


@dataclass(frozen=True)
class Completed:
    """One finished job: its tag and either its result or the exception it raised."""

    tag: Hashable
    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Job:
    """A submitted job: its tag and the underlying future of the pool or cluster."""

    def __init__(self, tag: Hashable, future: Any) -> None:
        self.tag = tag
        self.future = future

    def done(self) -> bool:
        return bool(self.future.done())

    def cancel(self) -> bool:
        """Drop the job if it has not started; whether it was dropped."""
        return bool(self.future.cancel())

    def __repr__(self) -> str:
        return f"Job({self.tag!r})"


class Executor(ABC):
    """Where jobs run. Use as a context manager: leaving closes it (and an interrupt stops it)."""

    description: str

    def __init__(self) -> None:
        self._jobs: list[Job] = []

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many jobs run at once."""

    @abstractmethod
    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The pool's or cluster's future for ``fn(*args, **kwargs)``."""

    @abstractmethod
    def _completed_futures(self, pending: list[Any]) -> Iterator[Any]:
        """``pending`` futures in the order they finish."""

    @abstractmethod
    def _outcome(self, future: Any) -> tuple[Any, BaseException | None]:
        """(result, None) or (None, the exception the job raised)."""

    @abstractmethod
    def _shutdown(self, interrupt: bool) -> None: ...

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, tag: Hashable = None, **kwargs: Any
    ) -> Job:
        """Start ``fn(*args, **kwargs)`` (a module-level function; its arguments are pickled)."""
        job = Job(tag if tag is not None else len(self._jobs), self._submit(fn, args, kwargs))
        self._jobs.append(job)
        return job

    def as_completed(self, jobs: Iterable[Job] | None = None) -> Iterator[Completed]:
        """Each job as it finishes (cancelled jobs are left out)."""
        chosen = list(self._jobs if jobs is None else jobs)
        by_future = {id(job.future): job for job in chosen}
        for future in self._completed_futures([job.future for job in chosen]):
            if future.cancelled():
                continue
            result, error = self._outcome(future)
            yield Completed(by_future[id(future)].tag, result, error)

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        tag: Callable[[Any], Hashable] | None = None,
    ) -> Iterator[Completed]:
        """``fn(item)`` for every item, each result as it completes, tagged by ``tag(item)``."""
        jobs = [
            self.submit(fn, item, tag=tag(item) if tag else index)
            for index, item in enumerate(items)
        ]
        return self.as_completed(jobs)

    def cancel(self, jobs: Iterable[Job] | None = None) -> int:
        """Drop every job (or those given) that has not started; how many were dropped."""
        chosen = list(self._jobs if jobs is None else jobs)
        return sum(1 for job in chosen if not job.done() and job.cancel())

    def close(self, *, interrupt: bool = False) -> None:
        """Release the workers; ``interrupt`` drops queued jobs and stops running ones.
        Closing again does nothing."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if interrupt:
            self.cancel()
        self._shutdown(interrupt)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        """Leaving normally waits for the jobs; leaving on an error or Ctrl-C stops them."""
        self.close(interrupt=kind is not None)


# --------------------------------------------------------------------------- local pool


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_interrupted = False
_running = False  # a job is executing in this worker
_stop: Any = None  # the pool's shared "stop" event, set by the parent on an interrupt


def _on_interrupt(signum: int, frame: object) -> None:
    """First SIGINT during a job: stop it (its tools are killed on the way out). Otherwise
    only remember it: an idle worker then leaves quietly when the pool shuts down, and a
    second signal cannot cut a job's clean-up short."""
    global _interrupted
    first = not _interrupted
    _interrupted = True
    if first and _running:
        raise KeyboardInterrupt


def _worker_start(pids: Any, stop: Any) -> None:
    global _stop
    _stop = stop
    signal.signal(signal.SIGINT, _on_interrupt)
    pids.put(os.getpid())


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    global _running
    if _interrupted or (_stop is not None and _stop.is_set()):
        raise KeyboardInterrupt  # handed over before the interrupt: do not start it
    _running = True
    try:
        return fn(*args, **kwargs)
    finally:
        _running = False


class LocalExecutor(Executor):
    """A pool of local worker processes (started fresh, never forked from this one)."""

    def __init__(self, jobs: int | None = None) -> None:
        super().__init__()
        count = default_jobs() if jobs is None else jobs
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise UsageError(f"--jobs: expected a whole number ≥ 1, got {jobs!r}")
        self._count = count
        context = multiprocessing.get_context("spawn")
        self._pids = context.SimpleQueue()
        self._stop = context.Event()
        self._pool = futures.ProcessPoolExecutor(
            max_workers=count, mp_context=context, initializer=_worker_start,
            initargs=(self._pids, self._stop),
        )  # fmt: skip
        self.description = f"local pool of {count} process{'es' if count > 1 else ''}"

    @property
    def workers(self) -> int:
        return self._count

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._pool.submit(_call, fn, args, kwargs)

    def _completed_futures(self, pending: list[Any]) -> Iterator[Any]:
        return futures.as_completed(pending)

    def _outcome(self, future: Any) -> tuple[Any, BaseException | None]:
        error = future.exception()
        return (None, error) if error is not None else (future.result(), None)

    def _worker_pids(self) -> list[int]:
        pids = []
        while not self._pids.empty():
            pids.append(int(self._pids.get()))
        return pids

    def _shutdown(self, interrupt: bool) -> None:
        if not interrupt:
            self._pool.shutdown(wait=True)
            return
        self._stop.set()
        pids = self._worker_pids()
        for pid in pids:  # each running job stops its tools and rolls back its writes
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + INTERRUPT_GRACE_S
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether worker ``pid`` still runs; a zombie awaiting the pool's reaping is gone.

    The pool reaps its own workers, so this only looks (``/proc``), never waits.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


# --------------------------------------------------------------------------- Dask


class DaskExecutor(Executor):
    """Jobs on a Dask distributed cluster: a scheduler address, or a ``Client`` to borrow.

    Workers must be able to import stochflow and reach the paths the jobs name (a shared
    filesystem on a multi-host cluster). A running job cannot be interrupted on a Dask
    worker: an interrupt cancels the queued jobs and lets running ones finish.
    """

    def __init__(self, scheduler: str | Any, *, timeout_s: float = 30.0) -> None:
        super().__init__()
        from distributed import Client

        if isinstance(scheduler, str):
            if not _SCHEDULER.fullmatch(scheduler):
                raise UsageError(
                    f"--scheduler: expected a Dask scheduler address such as "
                    f"tcp://HOST:PORT, got {scheduler!r}"
                )
            try:
                self.client = Client(scheduler, timeout=timeout_s, set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise FlowError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
            self._owns_client = True
        else:
            self.client = scheduler
            self._owns_client = False
        self.description = f"Dask cluster at {self.client.scheduler.address} ({self.workers} threads)"

    @property
    def workers(self) -> int:
        return sum(int(threads) for threads in self.client.nthreads().values())

    def _submit(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.client.submit(fn, *args, pure=False, **kwargs)

    def _completed_futures(self, pending: list[Any]) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(pending, loop=self.client.loop))

    def _outcome(self, future: Any) -> tuple[Any, BaseException | None]:
        if future.status == "error":
            return None, future.exception()
        return future.result(), None

    def cancel(self, jobs: Iterable[Job] | None = None) -> int:
        chosen = [job for job in (self._jobs if jobs is None else jobs) if not job.done()]
        if chosen:
            self.client.cancel([job.future for job in chosen])
        return len(chosen)

    def _shutdown(self, interrupt: bool) -> None:
        if self._owns_client:
            self.client.close()


def make_executor(jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """A local pool (``jobs`` workers, default every core) or, given a scheduler, Dask."""
    if scheduler is not None:
        if jobs is not None:
            raise UsageError("give either --jobs (local pool) or --scheduler (Dask), not both")
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs)
