"""The one job lifecycle, shared by the CLI, the dashboard, the scheduler and worker processes.

`submit(request)` writes the job row (a training job takes its pair's slot, so the database
refuses a second one) and hands the id to the executor the runner was given (chosen by
configuration in `core.runtime.make_executor`); `run(job_id)` executes a queued job with
progress, heartbeats and cancellation, and records how it ended. A job is runnable from its id
alone (`run_job`): its row holds the typed request, and the settings give the rest. The end
state is decided here, the same for every entry point and every kind of job:

- the body's `JobEnd` (succeeded, budget_exhausted, or the stop its labels ended with);
- `JobCancelled` → cancelled; `BudgetExhausted` → budget_exhausted; any other error → failed;
- an interrupt of the process (Ctrl-C) → interrupted; a SIGKILL is found later by recovery.

A job that does not succeed keeps no `ready` version: whatever it registered and did not
activate is discarded. A failure on the job's own input (`BadInput`) is marked so, with a
fingerprint of the inputs, so the chart-view trigger does not repeat it until they change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import update

from core.context import Context
from core.db.models import TrainingJob
from core.db.types import utcnow
from core.errors import BadInput, BudgetExhausted, CandleLabError, JobCancelled
from core.jobs import store
from core.jobs.bodies import BODIES, JobBody, JobEnd
from core.jobs.recovery import discard_job_versions, recover_orphans
from core.jobs.store import JobRequest, JobView
from core.jobs.triggers import input_fingerprint
from core.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0

JobFn = Callable[[int], object]


class Executor(Protocol):
    """Where job bodies run: callers hand over a job id; the executor decides the process and thread."""

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
    """Runs each job in the calling thread: `submit` returns when the job has ended (the CLI's
    `train`, `label` and `retrain` wait and exit with the job's end state)."""

    detached = False

    def submit(self, job_id: int, run: JobFn) -> None:
        run(job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        return None

    def shutdown(self, wait: bool = False) -> None:
        return None


class JobReporter:
    """A `Reporter` that writes to the job's row: progress is also a heartbeat, spend rides along."""

    def __init__(self, ctx: Context, job_id: int) -> None:
        self.ctx, self.job_id = ctx, job_id
        self._spend: dict[str, Any] = {}

    def progress(self, fraction: float, stage: str) -> None:
        fields, self._spend = self._spend, {}
        store.update_progress(self.ctx.db, self.job_id, fraction, stage, **fields)

    def cancelled(self) -> bool:
        return store.cancel_requested(self.ctx.db, self.job_id)

    def spend(self, *, label_set_id: int | None, llm_calls: int, cost_usd: float) -> None:
        self._spend = {"llm_calls": llm_calls, "cost_usd": cost_usd}
        if label_set_id is not None:
            self._spend["label_set_id"] = label_set_id


class JobRunner:
    def __init__(
        self,
        ctx: Context,
        executor: Executor,
        bodies: dict[str, JobBody] | None = None,
        recover: bool = True,
    ) -> None:
        self.ctx = ctx
        self.executor = executor
        self.bodies = bodies if bodies is not None else BODIES
        self._owned: set[int] = set()
        self._owned_lock = threading.Lock()
        self._stop = threading.Event()
        # A long-lived process (dashboard, API, scheduler, a pool's or a Dask client's runner)
        # also watches the heartbeats of every running job, so a job whose process died is closed
        # within one beat whoever is running; a job body's own runner (`run_job`) does not.
        self._watches = recover
        self._beat = threading.Thread(target=self._heartbeat_loop, name="candlelab-heartbeat", daemon=True)
        self._beat.start()
        if recover:  # a process that starts work closes what dead ones left behind
            recover_orphans(ctx.db)

    # --- submitting -------------------------------------------------------------------------
    def submit(self, request: JobRequest, *, requested_by: str) -> JobView:
        """Queue a job for a checked request and hand it to the executor; `JobAlreadyActive` when
        its pair already has a training job. With the foreground executor the job has ended on return."""
        if request.kind not in self.bodies:
            raise ValueError(f"no job body for kind {request.kind!r}")
        job = store.create_job(self.ctx.db, request, requested_by=requested_by, status="queued")
        if not self.executor.detached:  # a detached job's own process keeps its heartbeat
            self._own(job.job_id)
        log.info(
            "AI training job %d queued: %s %s %s (%s)",
            *(job.job_id, job.kind, job.symbol, job.timeframe, requested_by),
        )
        self.executor.submit(job.job_id, self.run)
        return store.get_job(self.ctx.db, job.job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> JobView:
        """Block until a job submitted here has ended (at once for detached executors)."""
        self.executor.wait(job_id, timeout)
        return store.get_job(self.ctx.db, job_id)

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
            log.info("AI training job %d started: %s %s %s", job_id, job.kind, job.symbol, job.timeframe)
            end = self._execute(job)
            if end.status in ("cancelled", "failed"):  # it never committed
                discard_job_versions(self.ctx.db, job_id, f"its job ended {end.status}")
            log.log(
                logging.INFO if end.status == "succeeded" else logging.WARNING,
                "AI training job %d %s%s",
                *(job_id, end.status, f": {end.message}" if end.message else ""),
            )
            return store.finish_job(
                self.ctx.db, job_id, end.status, result=end.result or None, error=end.message
            )
        finally:
            self._disown(job_id)

    def _execute(self, job: JobView) -> JobEnd:
        """The body's end, or the end its error maps to (the one map for every job)."""
        try:
            return self.bodies[job.kind](self.ctx, job, JobReporter(self.ctx, job.job_id))
        except JobCancelled as exc:
            return JobEnd("cancelled", message=str(exc) or "cancelled on request")
        except BudgetExhausted as exc:
            return JobEnd("budget_exhausted", message=str(exc))
        except BadInput as exc:
            fingerprint = input_fingerprint(self.ctx, job.symbol, job.timeframe)
            return JobEnd("failed", {"failure": "input", "inputs": fingerprint}, str(exc))
        except CandleLabError as exc:
            return JobEnd("failed", {"failure": "operational"}, str(exc))
        except Exception as exc:
            log.exception("AI training job %d failed unexpectedly", job.job_id)
            return JobEnd("failed", {"failure": "crash"}, f"{type(exc).__name__}: {exc} (details in the log)")
        except BaseException:  # Ctrl-C or interpreter exit: record it, then let it end the process
            discard_job_versions(self.ctx.db, job.job_id, "its process was interrupted")
            store.finish_job(self.ctx.db, job.job_id, "interrupted", error="interrupted (Ctrl-C or shutdown)")
            raise

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
            self._beat_owned()
            if self._watches:
                with self._owned_lock:
                    supervised = set(self._owned)
                try:
                    recover_orphans(self.ctx.db, supervised=supervised)
                except Exception:  # a busy database must not kill the watch
                    log.warning("checking other jobs' heartbeats failed; will retry", exc_info=True)

    def _beat_owned(self) -> None:
        with self._owned_lock:
            owned = list(self._owned)
        if owned:
            try:
                with self.ctx.db.session() as session:
                    session.execute(
                        update(TrainingJob)
                        .where(TrainingJob.id.in_(owned), TrainingJob.status.in_(store.ACTIVE_STATUSES))
                        .values(heartbeat_at=utcnow(), owner=store.owner_tag())
                    )
            except Exception:  # a busy database must not kill the heartbeat thread
                log.warning("job heartbeat failed; will retry", exc_info=True)


def run_job(job_id: int, settings: Settings | None = None, ctx: Context | None = None) -> JobView:
    """Run a queued job in this process and return how it ended, from its id alone: the job row
    and the settings are all it needs (`python -m core jobs run ID`, a Dask worker's child)."""
    ctx = ctx or Context.create(settings, migrate=False)
    runner = JobRunner(ctx, executor=ForegroundExecutor(), recover=False)
    try:
        return runner.run(job_id)
    finally:
        runner.shutdown()
