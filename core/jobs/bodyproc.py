"""A job body in a child process that its parent can end: the hard stop behind a cancel.

A running thread cannot be interrupted, so every job an executor hands over runs in a process
of its own, and whoever started it can end it. Two ways to start one:

- `SpawnedBody`: `python -m core jobs run ID`, detached (its own session), for the local
  executor: the job outlives the dashboard or command that started it.
- `ForkedBody`: a `multiprocessing` forkserver child, for Dask workers. The fork server imports
  the training stack once per worker (`FORK_PRELOAD`), so a task starts in milliseconds instead
  of paying the seconds an interpreter needs to import PyTorch and XGBoost. Forking from that
  single-threaded server, never from the multi-threaded worker, keeps fork safe. The child ends
  itself when its worker dies (`exit_with_parent`), which is what lets recovery find the job.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0  # after SIGTERM, how long a body may take to go before SIGKILL
# What a fork server imports before it forks any child: the job layer with the training stack
# (PyTorch, XGBoost, pandas) and the Dask worker's own main module's imports.
FORK_PRELOAD = ["__main__", "distributed", "core.jobs.child", "core.bots.sequence", "xgboost"]
PARENT_GONE_EXIT = 70  # the exit code of a body that ended because its worker died

_fork_lock = threading.Lock()
_fork_context: Any = None


class BodyProcess(Protocol):
    """The handle a supervisor holds on a job body's process."""

    @property
    def pid(self) -> int | None: ...

    def wait(self, timeout: float) -> int | None:
        """The exit code once the process has ended within `timeout` seconds, else None."""
        ...

    def stop(self) -> int | None:
        """End the process: SIGTERM, then SIGKILL if it lingers. Returns its exit code."""
        ...


class SpawnedBody:
    """`python -m core jobs run ID` in a new session, logging to the job's own file."""

    def __init__(self, job_id: int, log_dir: Path, env: Mapping[str, str] | None = None) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / f"job-{job_id}.log").open("ab") as out:
            # A new session: the worker survives the parent's exit and its terminal's hang-up.
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "core", "jobs", "run", str(job_id)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> int | None:
        self.proc.terminate()
        code = self.wait(STOP_WAIT_S)
        if code is None:
            self.proc.kill()
            code = self.wait(STOP_WAIT_S)
        return code


def fork_context() -> Any:
    """This process's fork server context, configured once (the server starts on first use)."""
    global _fork_context
    with _fork_lock:
        if _fork_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(FORK_PRELOAD)
            _fork_context = context
        return _fork_context


class ForkedBody:
    """`target(*args)` in a child of this process's fork server."""

    def __init__(self, target: Callable[..., None], *args: Any, name: str = "candlelab-body") -> None:
        self.process = fork_context().Process(target=target, args=args, name=name)
        self.process.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def wait(self, timeout: float) -> int | None:
        self.process.join(timeout)
        return self.process.exitcode

    def stop(self) -> int | None:
        self.process.terminate()
        code = self.wait(STOP_WAIT_S)
        if code is None:
            self.process.kill()
            code = self.wait(STOP_WAIT_S)
        return code


def may_fork() -> bool:
    """Whether this process may start `ForkedBody` children (a daemonic process may not)."""
    return not multiprocessing.current_process().daemon


def exit_with_parent() -> None:
    """In a forked body: end this process at once when the process that started it dies.

    The job row stays `running` with this process as its owner; recovery sees the owner gone (or
    its heartbeat silent, from another machine) and marks it `interrupted`, discarding what the
    job registered. Exiting without a word is deliberate: writing from this thread could race
    the main thread's commit.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(PARENT_GONE_EXIT)

    threading.Thread(target=watch, name="candlelab-parent-watch", daemon=True).start()


def lower_priority(nice: int) -> None:
    """Renice this whole process (a job body) so that pages and schedulers keep their cores."""
    if nice <= 0 or not hasattr(os, "nice"):
        return
    try:
        os.nice(nice)
    except OSError:
        log.debug("could not lower the job process's priority", exc_info=True)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return f"was ended by {signal.Signals(-code).name}"
        except ValueError:
            return f"was ended by signal {-code}"
    if code == PARENT_GONE_EXIT:
        return "ended because its worker process died"
    return f"exited with code {code}"
