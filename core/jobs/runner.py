"""The process-level job runner shared by the dashboard, the CLI and the scheduler.

It queues a job in the database (which enforces one active job per pair), hands the id to an
executor, and runs job bodies with progress, heartbeats, cancellation and a recorded end state.
A failing job records its error; nothing escapes to the caller's thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from core.context import Context
from core.db.models import TrainingJob
from core.db.types import utcnow
from core.errors import BudgetExhausted, CandleLabError, JobCancelled
from core.jobs import store
from core.jobs.executor import Executor, ThreadExecutor
from core.jobs.recovery import recover_orphans
from core.jobs.store import CancelFn, JobView, ProgressFn

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0

# A job body does the work and returns a JSON-able result; it reports through `progress` and
# stops (raising JobCancelled) when `should_cancel()` turns true between stages.
JobBody = Callable[[Context, JobView, ProgressFn, CancelFn], dict[str, Any]]


def _default_bodies() -> dict[str, JobBody]:
    from core.jobs.bodies import BODIES

    return BODIES


class JobRunner:
    def __init__(
        self,
        ctx: Context,
        executor: Executor | None = None,
        bodies: dict[str, JobBody] | None = None,
        recover: bool = True,
    ) -> None:
        self.ctx = ctx
        self.executor = executor or ThreadExecutor(ctx.settings.job_workers, nice=ctx.settings.job_nice)
        self._bodies = bodies
        self._owned: set[int] = set()
        self._owned_lock = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat_loop, name="candlelab-heartbeat", daemon=True)
        self._beat.start()
        if recover:
            recover_orphans(ctx.db)

    @property
    def bodies(self) -> dict[str, JobBody]:
        if self._bodies is None:
            self._bodies = _default_bodies()
        return self._bodies

    # --- submitting -------------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        symbol: str,
        timeframe: str,
        params: dict[str, Any] | None = None,
        requested_by: str = "cli",
    ) -> JobView:
        """Queue a job and return at once; `JobAlreadyActive` when the pair already has one."""
        if kind not in self.bodies:
            raise ValueError(f"no job body for kind {kind!r}")
        job = store.create_job(
            self.ctx.db, kind, symbol, timeframe, params=params, requested_by=requested_by, status="queued"
        )
        self._own(job.job_id)
        log.info(
            "AI training job %d queued: %s %s %s (%s)", job.job_id, kind, symbol, timeframe, requested_by
        )
        self.executor.submit(job.job_id, self.run)
        return job

    # --- running ----------------------------------------------------------------------------
    def run(self, job_id: int) -> JobView:
        """Execute a queued job in the calling thread and record how it ended."""
        self._own(job_id)
        try:
            job = store.get_job(self.ctx.db, job_id)
            if job.status != "queued":
                log.info("job %d is %s, not queued; nothing to run", job_id, job.status)
                return job
            job = store.mark_running(self.ctx.db, job_id)
            body = self.bodies[job.kind]

            def progress(fraction: float, stage: str, **fields: Any) -> None:
                store.update_progress(self.ctx.db, job_id, fraction, stage, **fields)

            def should_cancel() -> bool:
                return store.cancel_requested(self.ctx.db, job_id)

            log.info("AI training job %d started: %s %s %s", job_id, job.kind, job.symbol, job.timeframe)
            try:
                result = body(self.ctx, job, progress, should_cancel)
            except JobCancelled:
                log.info("AI training job %d cancelled", job_id)
                return store.finish_job(self.ctx.db, job_id, "cancelled", error="cancelled on request")
            except BudgetExhausted as exc:
                log.warning("AI training job %d stopped: %s", job_id, exc)
                return store.finish_job(self.ctx.db, job_id, "budget_exhausted", error=str(exc))
            except CandleLabError as exc:
                log.error("AI training job %d failed: %s", job_id, exc)
                return store.finish_job(self.ctx.db, job_id, "failed", error=str(exc))
            except Exception as exc:
                log.exception("AI training job %d failed unexpectedly", job_id)
                return store.finish_job(
                    self.ctx.db, job_id, "failed", error=f"{type(exc).__name__}: {exc} (details in the log)"
                )
            status = str(result.pop("status", "succeeded"))
            log.info("AI training job %d %s", job_id, status)
            return store.finish_job(self.ctx.db, job_id, status, result=result, error=result.get("message"))
        finally:
            self._disown(job_id)

    def cancel(self, job_id: int) -> JobView:
        return store.request_cancel(self.ctx.db, job_id)

    def shutdown(self, wait: bool = False) -> None:
        self._stop.set()
        self.executor.shutdown(wait=wait)

    # --- heartbeats -------------------------------------------------------------------------
    def _own(self, job_id: int) -> None:
        with self._owned_lock:
            self._owned.add(job_id)

    def _disown(self, job_id: int) -> None:
        with self._owned_lock:
            self._owned.discard(job_id)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._owned_lock:
                owned = list(self._owned)
            if not owned:
                continue
            try:
                with self.ctx.db.session() as session:
                    session.execute(
                        update(TrainingJob)
                        .where(TrainingJob.id.in_(owned), TrainingJob.status.in_(store.ACTIVE_STATUSES))
                        .values(heartbeat_at=utcnow(), owner=store.owner_tag())
                    )
            except Exception:  # a busy database must not kill the heartbeat thread
                log.warning("job heartbeat failed; will retry", exc_info=True)
