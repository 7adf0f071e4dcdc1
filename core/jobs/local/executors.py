"""Executors that run jobs on this machine without a cluster, besides the runner's own foreground one.

`SubprocessExecutor` starts a detached `python -m core jobs run ID` per job, so a short-lived
command (`trigger`) can return at once while the job carries on. `ThreadExecutor` runs jobs on a
pool inside this process (tests that drive the lifecycle with bodies of their own use it).
Long-lived processes use `core.jobs.local.process_pool.ProcessPool` (supervised worker processes)
or, with JOB_EXECUTOR=dask, `core.jobs.dask.client.DaskExecutor`; `core.runtime.make_executor`
chooses.

Executors that run jobs in other processes ship the id (`core.jobs.runner.run_job` rebuilds the
rest from the settings); in-process executors call the `run` they are given instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from core.jobs.local.spawn import SpawnedProcess, renice_thread
from core.jobs.runner import JobFn

log = logging.getLogger(__name__)


class ThreadExecutor:
    detached = False

    def __init__(self, workers: int, nice: int = 0) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="candlelab-job",
            initializer=renice_thread,
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
    recovery finds it if it dies. Long-lived processes use `core.jobs.local.process_pool.ProcessPool`,
    which also watches its processes.
    """

    detached = True

    def __init__(self, log_dir: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.env = dict(env or {})

    def submit(self, job_id: int, run: JobFn) -> None:
        process = SpawnedProcess(job_id, self.log_dir, self.env)
        log.info("job %d handed to worker process %d", job_id, process.pid)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        return None  # the worker is detached on purpose; its row says how it ends

    def shutdown(self, wait: bool = False) -> None:
        return None
