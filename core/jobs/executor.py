"""Where job bodies run. Callers hand over a job id; the executor decides the process and thread.

`ForegroundExecutor` runs the job in the caller's thread before `submit` returns (the CLI's
`train`, `label` and `retrain`: the command waits and exits with the job's end state).
`ThreadExecutor` runs jobs on a bounded pool inside this process (the dashboard, the scheduler).
`SubprocessExecutor` starts a detached `python -m core jobs run ID` per job, so a short-lived
command (`trigger`) can return at once while the job carries on.

A job is runnable from its id alone: its row holds the typed request, and `core.jobs.worker.run_job`
rebuilds everything else from the settings. So an executor for a distributed engine (Dask) is
one more class with these methods that ships the id to `run_job` on a worker; in-process
executors call the `run` they are given instead. Nothing that submits jobs changes.
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
from core.jobs.supervisor import Supervision, supervise

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
    """One worker process per job (`python -m core jobs run ID`); it outlives whoever started it.

    With `supervise` (the dashboard and the scheduler, which live long), a light thread per job
    watches the process: it ends the process when a cancel is not honoured within the grace, and
    records `interrupted` when the process dies without recording an end. Without it (`trigger`,
    which exits at once), the job stops at its next stage on cancel and recovery finds a dead one.
    """

    detached = True

    def __init__(
        self,
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        supervision: Callable[[int], Supervision] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.env = dict(env or {})
        self.supervision = supervision
        self._watchers: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    def submit(self, job_id: int, run: JobFn) -> None:
        body = SpawnedBody(job_id, self.log_dir, self.env)
        log.info("job %d handed to worker process %d", job_id, body.pid)
        if self.supervision is None:
            return
        watcher = threading.Thread(
            target=supervise,
            args=(self.supervision(job_id), body),
            name=f"candlelab-watch-{job_id}",
            daemon=True,
        )
        with self._lock:
            self._watchers = {k: t for k, t in self._watchers.items() if t.is_alive()}
            self._watchers[job_id] = watcher
        watcher.start()

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until a supervised job's process has ended (at once for unsupervised ones)."""
        with self._lock:
            watcher = self._watchers.get(job_id)
        if watcher is not None:
            watcher.join(timeout)

    def shutdown(self, wait: bool = False) -> None:
        """The processes carry on (their rows say how they end); `wait` blocks until they have."""
        if wait:
            with self._lock:
                watchers = list(self._watchers.values())
            for watcher in watchers:
                watcher.join()
