"""The tasks a Dask client submits for a job: run it once on a worker, or fan it out into parts.

**Fan-out.** A fanned-out job's own task runs the job runner's usual lifecycle around
`_fanout_body`: its preparation in a child, its parts as tasks of their own, waited for outside
the worker's thread pool. The rules (progress, deferred activation, failed parts, no half
versions) are in `core.jobs.dask.fanout`; this module ships them to workers.

**Retries.** A job runs at most once. A task starts a body only while the job's row is `queued`,
so if Dask runs a task again (a worker died and `distributed.scheduler.allowed-failures` lets it
retry), the second run finds the job `running` or already `interrupted` and does nothing but
report it. Clusters for CandleLab set `allowed-failures` to 0 (`make dask-scheduler` does), so the
client learns of a dead worker at once; the job is recorded `interrupted` by recovery, which sees
its process gone (same machine) or its heartbeat silent (`ORPHAN_AFTER`, another machine), and
every version it registered but never activated is discarded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from distributed import wait, worker_client

from core.bots import BOTS
from core.context import Context
from core.errors import CandleLabError, JobCancelled
from core.jobs import store
from core.jobs.bodies import JobEnd
from core.jobs.dask import child, fanout
from core.jobs.dask.fanout import PartResult, Prepared
from core.jobs.dask.worker import (
    PART_PRIORITY_BOOST,
    PRIORITIES,
    ForkedProcess,
    in_child,
    overrides,
    supervision,
    worker_context,
)
from core.jobs.recovery import close_abandoned, recover_orphans
from core.jobs.runner import ForegroundExecutor, JobRunner
from core.jobs.store import JobView
from core.jobs.supervisor import describe_exit, supervise
from core.reporting import Reporter

log = logging.getLogger(__name__)

COLLECT_POLL_S = 5.0


@dataclass(frozen=True)
class JobTicket:
    """What the submitter knows of the job: a worker checks its database holds the same one."""

    kind: str
    symbol: str
    timeframe: str
    created_at: str

    @classmethod
    def of(cls, job: JobView) -> JobTicket:
        return cls(job.kind, job.symbol, job.timeframe, job.created_at.isoformat())

    def matches(self, job: JobView) -> bool:
        return dataclasses.astuple(self) == dataclasses.astuple(JobTicket.of(job))


def run_job_task(job_id: int, ticket: JobTicket) -> dict[str, Any]:
    """Run one queued job on this worker; returns the job as it ended (`JobView.as_json`).

    A task that fails before the job's body records an end (a worker that may not start the
    body's process, a missing import, a database it cannot reach) ends the job `failed` with the
    worker's own message, here, at once; the client's callback does the same for a task that
    never ran here (a lost worker).
    """
    ctx = worker_context()
    try:
        return _run_job_task(ctx, job_id, ticket)
    except Exception as exc:
        fail_unended(ctx, job_id, exc)
        raise


def fail_unended(ctx: Context, job_id: int, exc: BaseException) -> bool:
    """End a job its Dask task left without an end: `failed`, with the worker's message."""
    why = f"its Dask task failed before the job recorded an end: {type(exc).__name__}: {exc}"
    return close_abandoned(ctx.db, job_id, "failed", why)


def _run_job_task(ctx: Context, job_id: int, ticket: JobTicket) -> dict[str, Any]:
    recover_orphans(ctx.db)  # a process that starts work closes what dead ones left behind
    job = store.get_job(ctx.db, job_id)
    if not ticket.matches(job):
        raise CandleLabError(
            f"job {job_id} in this worker's database is not the job that was submitted "
            f"({ticket.kind} {ticket.symbol} {ticket.timeframe}); every worker must use the "
            "submitter's DATABASE_URL"
        )
    if job.status != "queued":  # a re-run, or cancelled while it waited: nothing to do
        log.info("job %d is %s, not queued; the task does nothing", job_id, job.status)
        return job.as_json()
    if job.kind in fanout.FANOUT_KINDS:
        return run_fanned_out(ctx, job_id).as_json()
    process = ForkedProcess(child.run_whole_job, job_id, overrides(), name=f"candlelab-job-{job_id}")
    return supervise(supervision(ctx, job_id), process).as_json()


def run_fanned_out(ctx: Context, job_id: int) -> JobView:
    """The job runner's usual lifecycle (running, the end map, the end) around the fan-out body."""
    runner = JobRunner(ctx, executor=ForegroundExecutor(), bodies=_FANOUT_BODIES, recover=False)
    try:
        return runner.run(job_id)
    finally:
        runner.shutdown()


def _fanout_body(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
    started = time.perf_counter()
    prepared = _prepare(ctx, job)
    log.info(
        "AI training job %d prepared in %.1f s: %d bots as parts (%s)",
        *(job.job_id, time.perf_counter() - started, len(prepared.bots), ", ".join(prepared.bots) or "none"),
    )
    results: list[PartResult] = []
    if prepared.bots:
        # The job's own task waits outside the worker's thread pool (Dask's `secede`), so parts
        # can run on this worker too: no deadlock however small the cluster.
        with worker_client() as client:
            results = _run_parts(client, ctx, job, prepared, reporter)
    reporter.progress(fanout.COMMIT_AT, "activating")
    return fanout.commit(ctx, job, prepared, results, time.perf_counter() - started)


_FANOUT_BODIES = {kind: _fanout_body for kind in fanout.FANOUT_KINDS}


def _prepare(ctx: Context, job: JobView) -> Prepared:
    message, code, stopped = in_child(ctx, job.job_id, child.run_stage, (job.job_id, overrides()))
    if stopped:
        raise JobCancelled("cancelled: the preparation was ended after the cancel request")
    if message is None:
        raise CandleLabError(f"the preparation process {describe_exit(code)}")
    if "error" in message:
        child.raise_error(message["error"])
    return Prepared.from_json(message["ok"])


def _run_parts(
    client: Any, ctx: Context, job: JobView, prepared: Prepared, reporter: Reporter
) -> list[PartResult]:
    gpu = _cluster_has_gpu(client)
    futures = {}
    for bot in prepared.bots:
        resources = {"GPU": 1} if gpu and BOTS.entry(bot).accelerated else None
        futures[bot] = client.submit(
            run_part_task,
            job.job_id,
            bot,
            prepared.as_json(),
            key=f"candlelab-part-{job.job_id}-{bot}-{uuid.uuid4().hex[:8]}",
            priority=PRIORITIES.get(job.kind, 0) + PART_PRIORITY_BOOST,
            resources=resources,
            pure=False,
            retries=0,
        )
    reporter.progress(*fanout.progress(prepared, 0, len(futures)))
    return _collect(client, futures, ctx, job, prepared, reporter)


def _collect(
    client: Any, futures: dict[str, Any], ctx: Context, job: JobView, prepared: Prepared, reporter: Reporter
) -> list[PartResult]:
    """Wait for the parts, adding their progress up in the job's row; a cancel drops the rest.

    The row is written when a part ends and the cancel flag read every `COLLECT_POLL_S`: a
    nightly batch has hundreds of jobs waiting on their parts at once.
    """
    results: dict[str, PartResult] = {}
    pending = dict(futures)
    while pending:
        with contextlib.suppress(TimeoutError):
            wait(list(pending.values()), timeout=COLLECT_POLL_S, return_when="FIRST_COMPLETED")
        ended = [bot for bot, future in pending.items() if future.done()]
        for bot in ended:
            results[bot] = _part_result(bot, pending.pop(bot))
        if ended:
            reporter.progress(*fanout.progress(prepared, len(results), len(futures)))
        if pending and reporter.cancelled():
            client.cancel(list(pending.values()))  # running parts stop on their own supervision
            for bot in pending:
                results[bot] = PartResult(bot, "cancelled", error="cancelled before it ended")
            pending = {}
    return list(results.values())


def _part_result(bot: str, future: Any) -> PartResult:
    try:
        return PartResult.from_json(future.result())
    except Exception as exc:  # the part's worker died (KilledWorker), or the task itself failed
        log.warning("part %s of a fanned-out job failed on the cluster: %r", bot, exc)
        return PartResult(bot, "failed", error=f"its task failed on the cluster: {type(exc).__name__}: {exc}")


def _cluster_has_gpu(client: Any) -> bool:
    """Sequence bots ask for a GPU only where some worker declares one (`--resources GPU=1`)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return any(float(w.get("resources", {}).get("GPU", 0)) > 0 for w in workers.values())


def run_part_task(job_id: int, bot: str, prepared: dict[str, Any]) -> dict[str, Any]:
    """One (pair, bot) part of a fanned-out job, in a child process; returns a `PartResult`."""
    ctx = worker_context()
    started = time.perf_counter()
    message, code, stopped = in_child(ctx, job_id, child.run_part, (job_id, bot, prepared, overrides()))
    log.info("part %s of job %d ended in %.1f s", bot, job_id, time.perf_counter() - started)
    if message is not None and "ok" in message:
        return dict(message["ok"])
    if stopped:
        error = "its process was ended after the cancel request"
    elif message is not None:
        error = message["error"]["message"]
    else:
        error = f"its process {describe_exit(code)}"
    fanout.close_part(ctx, job_id, bot, error)
    return PartResult(bot, "cancelled" if stopped else "failed", error=error).as_json()
