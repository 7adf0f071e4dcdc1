"""Where job bodies run. Callers hand over a job id; the executor decides the process and thread.

`ForegroundExecutor` runs the job in the caller's thread before `submit` returns (the CLI's
`train`, `label` and `retrain`: the command waits and exits with the job's end state).
`SubprocessExecutor` starts a detached `python -m core jobs run ID` per job, so a short-lived
command (`trigger`) can return at once while the job carries on. `ThreadExecutor` runs jobs on a
pool inside this process (tests that drive the lifecycle with bodies of their own use it).
Long-lived processes use `core.jobs.process_pool.ProcessPool` (supervised worker processes) or,
with JOB_EXECUTOR=dask, `core.jobs.dask_executor.DaskExecutor`; `core.jobs.executors` chooses.

A job is runnable from its id alone: its row holds the typed request, and `core.jobs.worker.run_job`
rebuilds everything else from the settings. Executors that run jobs in other processes ship the
id; in-process executors call the `run` they are given instead. Nothing that submits jobs changes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from core.jobs.bodyproc import SpawnedBody

log = logging.getLogger(__name__)


JobFn = Callable[[int], object]


class Executor(Protocol):
    # True when jobs run in processes of their own that keep their own heartbeat (a detached
    # subprocess, a Dask worker); False when they run in the submitting process.
    detached: bool

    def submit(self, job_id: int, run: JobFn) -> None:
        """Arrange for job `job_id` to run (in-process executors call `run(job_id)`)."""
        ...

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until a job submitted here has ended (returns at once for detached jobs)."""
        ...

    def shutdown(self, wait: bool = False) -> None: ...


class ForegroundExecutor:
    """Runs each job in the calling thread: `submit` returns when the job has ended."""

    detached = False

    def submit(self, job_id: int, run: JobFn) -> None:
        run(job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        return None

    def shutdown(self, wait: bool = False) -> None:
        return None


def _lower_priority(nice: int) -> None:
    """Renice the calling worker thread (Linux schedules threads individually; elsewhere a no-op).

    Training shares the cores with the dashboard that started it; a nicer worker keeps pages
    responsive while it runs, and threads it starts (the PyTorch and XGBoost pools) inherit it.
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        log.debug("could not lower the job thread's priority", exc_info=True)


class ThreadExecutor:
    detached = False

    def __init__(self, workers: int, nice: int = 0) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="candlelab-job",
            initializer=_lower_priority,
            initargs=(nice,),
        )
        self._futures: dict[int, Future[object]] = {}
        self._lock = threading.Lock()

    def submit(self, job_id: int, run: JobFn) -> None:
        future = self._pool.submit(run, job_id)
        with self._lock:
            self._futures[job_id] = future
        future.add_done_callback(lambda _f: self._forget(job_id))

    def _forget(self, job_id: int) -> None:
        with self._lock:
            self._futures.pop(job_id, None)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._futures)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until a job submitted here ends (tests and the CLI's foreground mode use this)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


class SubprocessExecutor:
    """One detached worker process per job (`python -m core jobs run ID`), for `trigger`.

    It outlives the command that started it: the job stops at its next stage on a cancel, and
    recovery finds it if it dies. Long-lived processes use `core.jobs.process_pool.ProcessPool`,
    which also watches its processes.
    """

    detached = True

    def __init__(self, log_dir: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = dict(env or {})

    def submit(self, job_id: int, run: JobFn) -> None:
        body = SpawnedBody(job_id, self.log_dir, self.env)
        log.info("job %d handed to worker process %d", job_id, body.pid)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        return None  # the worker is detached on purpose; its row says how it ends

    def shutdown(self, wait: bool = False) -> None:
        return None
