"""A job body in a process of its own that its parent can end: the hard stop behind a cancel.

A running thread cannot be interrupted, so every job the local executors hand over runs in a
process of its own (`python -m core jobs run ID`, detached in its own session): the job outlives
the dashboard or command that started it, and whoever started it can end it. Dask workers fork
theirs instead (`core.jobs.dask.worker.ForkedProcess`). Both renice what they run so that pages
and schedulers keep their cores.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from core.jobs.supervisor import STOP_WAIT_S

log = logging.getLogger(__name__)


class SpawnedProcess:
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


# Linux's autogroup scheduling shares the CPU fairly between sessions before niceness counts, and
# a job body runs in a session of its own (`SpawnedProcess`): its nice value then weighs only
# against its own threads. The session's weight is its autogroup's nice value (sched(7)), which a
# process changes only when it leads its own session (a Dask child shares its worker's).
AUTOGROUP = Path("/proc/self/autogroup")


def renice_process(nice: int) -> None:
    """Renice this whole process (a job body's) so that pages and schedulers keep their cores.

    Where Linux offers it, the body also enters the idle scheduling class (`SCHED_IDLE`), which
    its training threads, started later, inherit. Niceness alone still left the job a share of the
    core a page wanted: a chart's cold load took ×1.24–1.42 as long while an LSTM trained, in
    three of eight runs of `bench/dashboard_responsiveness.py`. In the idle class it took ×0.95.
    The job then runs on whatever time nothing else wants: all of it on an idle machine."""
    if nice <= 0 or not hasattr(os, "nice"):
        return
    try:
        os.nice(nice)
    except OSError:
        log.debug("could not lower the job process's priority", exc_info=True)
    try:
        if os.getsid(0) == os.getpid() and AUTOGROUP.exists():
            AUTOGROUP.write_text(str(nice))
    except OSError:
        log.debug("could not lower the job session's priority", exc_info=True)
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            log.debug("could not move the job process to the idle scheduling class", exc_info=True)


def renice_thread(nice: int) -> None:
    """Renice the calling thread (Linux schedules threads individually; elsewhere a no-op).

    Training shares the cores with the dashboard that started it; a nicer worker thread keeps
    pages responsive while it runs, and threads it starts (the PyTorch and XGBoost pools) inherit it.
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        log.debug("could not lower the job thread's priority", exc_info=True)
