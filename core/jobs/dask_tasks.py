"""The task a Dask client submits for a job: run it once on a worker, or fan it out.

**Retries.** A job runs at most once. A task starts a body only while the job's row is `queued`,
so if Dask runs a task again (a worker died and `distributed.scheduler.allowed-failures` lets it
retry), the second run finds the job `running` or already `interrupted` and does nothing but
report it. Clusters for CandleLab set `allowed-failures` to 0 (`make dask-scheduler` does), so the
client learns of a dead worker at once; the job is recorded `interrupted` by recovery, which sees
its process gone (same machine) or its heartbeat silent (`ORPHAN_AFTER`, another machine), and
every version it registered but never activated is discarded.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from core.errors import CandleLabError
from core.jobs import child, fanout, store
from core.jobs.bodyproc import ForkedBody
from core.jobs.dask_fanout import run_fanned_out
from core.jobs.dask_worker import overrides, supervision, worker_context
from core.jobs.recovery import recover_orphans
from core.jobs.store import JobView
from core.jobs.supervisor import supervise

log = logging.getLogger(__name__)


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
    """Run one queued job on this worker; returns the job as it ended (`JobView.as_json`)."""
    ctx = worker_context()
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
    body = ForkedBody(child.run_whole_job, job_id, overrides(), name=f"candlelab-job-{job_id}")
    return supervise(supervision(ctx, job_id), body).as_json()
