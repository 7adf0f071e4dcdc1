"""Watching a job body's process: the hard stop after a cancel, and the end a dead body never wrote.

A cancel is cooperative first: the body checks between stages (labels, each bot) and ends the job
`cancelled` itself, keeping nothing half-done. A body that is busy inside one long stage is given
`JOB_CANCEL_GRACE_S`; then its process is ended and the supervisor records `cancelled`. A body
whose process dies without recording an end (killed, out of memory, a crash in native code) is
recorded `interrupted`. Either way its pair is released and the versions it registered but never
activated are discarded (`core.jobs.recovery.close_abandoned`).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.db.database import Database
from core.jobs import store
from core.jobs.recovery import close_abandoned
from core.jobs.store import JobView

log = logging.getLogger(__name__)

POLL_S = 0.5
STOP_WAIT_S = 5.0  # after SIGTERM, how long a body's process may take to go before SIGKILL
PARENT_GONE_EXIT = 70  # the exit code of a body's process that ended because its worker died


class BodyProcess(Protocol):
    """The handle a supervisor holds on the process a job body runs in (local: `SpawnedProcess`,
    on a Dask worker: `ForkedProcess`)."""

    @property
    def pid(self) -> int | None: ...

    def wait(self, timeout: float) -> int | None:
        """The exit code once the process has ended within `timeout` seconds, else None."""
        ...

    def stop(self) -> int | None:
        """End the process: SIGTERM, then SIGKILL if it lingers. Returns its exit code."""
        ...


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


@dataclass(frozen=True)
class Supervision:
    """How a supervisor watches one job's body."""

    db: Database
    job_id: int
    grace_s: float
    poll_s: float = POLL_S
    on_tick: Callable[[], None] | None = None  # e.g. keep queued jobs' heartbeats fresh

    def cancel_requested(self) -> bool:
        return store.cancel_requested(self.db, self.job_id)


def watch(supervision: Supervision, body: BodyProcess) -> tuple[int | None, bool]:
    """Wait for `body` to exit; end it once a cancel has waited `grace_s`. (exit code, was stopped)."""
    cancel_seen: float | None = None
    while True:
        code = body.wait(supervision.poll_s)
        if code is not None:
            return code, False
        if supervision.on_tick is not None:
            supervision.on_tick()
        if cancel_seen is None and supervision.cancel_requested():
            cancel_seen = time.monotonic()
            log.info("job %d: cancel requested; %.0f s to stop", supervision.job_id, supervision.grace_s)
        if cancel_seen is not None and time.monotonic() - cancel_seen >= supervision.grace_s:
            log.warning("job %d did not stop in time: ending its process %s", supervision.job_id, body.pid)
            return body.stop(), True


def supervise(supervision: Supervision, body: BodyProcess) -> JobView:
    """Watch a whole job's body to its end and record the end it could not record itself."""
    code, stopped = watch(supervision, body)
    settle(supervision, code, stopped, f"its process {body.pid}")
    return store.get_job(supervision.db, supervision.job_id)


def settle(supervision: Supervision, code: int | None, stopped: bool, what: str) -> bool:
    """After a body's process is gone: end the job if it is still open. True when this ended it."""
    if stopped:
        why = f"cancelled: {what} was ended {supervision.grace_s:.0f} s after the cancel request"
        return close_abandoned(supervision.db, supervision.job_id, "cancelled", why)
    why = f"{what} {describe_exit(code)} before the job recorded an end"
    return close_abandoned(supervision.db, supervision.job_id, "interrupted", why)
