"""The worker side of the Dask executor: the tasks a client submits, and the engine they use.

Each worker process builds its own engine (`worker_context`, one per process and installation)
from its own settings: its environment and `.env`, as any CandleLab process, optionally pointed
at an installation by the `CandleLabWorker` plugin (a client that shares one cluster between
installations, the tests and `bench/scale.py` do). Engines never travel: a task carries a job id
and a ticket, and finds everything else in the database.

A task never runs a job body on its own thread. `run_job_task` forks a child for the body and
supervises it (the hard stop after a cancel; `interrupted` when it dies); a fanned-out job's task
only orchestrates: its preparation runs in a child, each of its parts is a task of its own
(`run_part_task`, again with a child), and it commits at the end.

**Retries.** A job runs at most once. A task starts a body only while the job's row is `queued`,
so if Dask runs a task again (a worker died and `distributed.scheduler.allowed-failures` lets it
retry), the second run finds the job `running` or already `interrupted` and does nothing but
report it. Clusters for CandleLab set `allowed-failures` to 0 (`make dask-scheduler` does), so the
client learns of a dead worker at once; the job is recorded `interrupted` by recovery, which sees
its process gone (same machine) or its heartbeat silent (`ORPHAN_AFTER`, another machine), and
every version it registered but never activated is discarded.

**Workers must not be daemonic** (`distributed.worker.daemon: False`, set by `make dask-worker`):
a daemonic process may not start child processes, and the hard stop needs one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing.forkserver
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distributed import WorkerPlugin, wait, worker_client

from core.bots import accelerated
from core.context import Context
from core.errors import CandleLabError, JobCancelled
from core.jobs import child, fanout, store
from core.jobs.bodyproc import ForkedBody, describe_exit, fork_context, may_fork
from core.jobs.executor import ForegroundExecutor
from core.jobs.fanout import PartResult, Prepared
from core.jobs.outcome import JobOutcome
from core.jobs.recovery import recover_orphans
from core.jobs.runner import JobRunner
from core.jobs.store import JobView
from core.jobs.supervisor import Supervision, supervise, watch
from core.reporting import Reporter
from core.settings import load_settings

log = logging.getLogger(__name__)

PLUGIN_NAME = "candlelab"
QUEUE_OWNER = "dask:"  # the owner of a job queued on a cluster (`store.hand_over`)
# Dask runs higher numbers first: the chart-view quick training goes ahead of the nightly batch.
# A job's parts run one above their job's kind, so jobs already started finish before new ones
# prepare (a batch progresses job by job instead of labeling everything first).
PRIORITIES = {"quick": 20, "manual": 10, "label": 10, "full": 0, "retrain": -10}
PART_PRIORITY_BOOST = 1
COLLECT_POLL_S = 5.0
DAEMON_MESSAGE = (
    "this Dask worker is a daemonic process and cannot start the child process a CandleLab job "
    "runs in; start workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (`make dask-worker` does)"
)

_overrides: dict[str, str] = {}
_contexts: dict[tuple[tuple[str, str], ...], Context] = {}
_lock = threading.Lock()


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


class CandleLabWorker(WorkerPlugin):
    """Points this cluster's workers at one installation (home, database, artifact store).

    Optional: a worker started with the installation's environment needs no plugin. Registering
    it again with other settings repoints every worker, the ones that join later too.
    """

    name = PLUGIN_NAME

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def setup(self, worker: Any) -> None:
        global _overrides
        if not may_fork():
            raise RuntimeError(DAEMON_MESSAGE)
        with _lock:
            _overrides = dict(self.overrides)
        fork_context()
        multiprocessing.forkserver.ensure_running()  # the fork server imports while we wait


def worker_context() -> Context:
    """This worker process's engine for the installation it serves (built once, never pickled)."""
    if not may_fork():
        raise RuntimeError(DAEMON_MESSAGE)
    with _lock:
        key = tuple(sorted(_overrides.items()))
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _contexts[key] = Context.create(load_settings(**_overrides), migrate=False)
        return ctx


def _supervision(ctx: Context, job_id: int, on_tick: Callable[[], None] | None = None) -> Supervision:
    beat = _queue_heartbeat(ctx)

    def tick() -> None:
        beat()
        if on_tick is not None:
            on_tick()

    return Supervision(ctx.db, job_id, ctx.settings.job_cancel_grace_s, on_tick=tick)


_last_queue_beat = [0.0]  # per worker process, shared by its tasks


def _queue_heartbeat(ctx: Context) -> Callable[[], None]:
    """Jobs waiting in the cluster's queue have no process yet: running tasks keep them fresh.

    Each worker process tries every QUEUED_HEARTBEAT_S; the database writes a row only when its
    heartbeat is older than QUEUED_REFRESH_AFTER_S, so a big cluster writes each row once then.
    """

    def beat() -> None:
        with _lock:
            due = time.monotonic() - _last_queue_beat[0] >= store.QUEUED_HEARTBEAT_S
            if due:
                _last_queue_beat[0] = time.monotonic()
        if due:
            try:
                store.touch_queued(ctx.db, QUEUE_OWNER, older_than=store.QUEUED_REFRESH_AFTER_S)
            except Exception:  # a busy database must not end the supervision
                log.warning("refreshing queued jobs' heartbeat failed; will retry", exc_info=True)

    return beat


# --- tasks ------------------------------------------------------------------------------------
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
        return _run_fanned_out(ctx, job_id).as_json()
    body = ForkedBody(child.run_whole_job, job_id, dict(_overrides), name=f"candlelab-job-{job_id}")
    return supervise(_supervision(ctx, job_id), body).as_json()


def run_part_task(job_id: int, bot: str, prepared: dict[str, Any]) -> dict[str, Any]:
    """One (pair, bot) part of a fanned-out job, in a child process; returns a `PartResult`."""
    ctx = worker_context()
    started = time.perf_counter()
    message, code, stopped = _in_child(ctx, job_id, child.run_part, (job_id, bot, prepared, dict(_overrides)))
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


def _in_child(
    ctx: Context, job_id: int, target: Callable[..., None], args: tuple[Any, ...]
) -> tuple[dict[str, Any] | None, int | None, bool]:
    """Fork `target(*args, conn)`, supervise it, and collect the one message it sends."""
    reader, writer = fork_context().Pipe(duplex=False)
    body = ForkedBody(target, *args, writer, name=f"candlelab-{target.__name__}-{job_id}")
    writer.close()
    received: list[dict[str, Any]] = []

    def drain() -> None:  # read while it runs: a large reply must not block the child's exit
        while not received and reader.poll():
            try:
                received.append(reader.recv())
            except EOFError:
                return

    code, stopped = watch(_supervision(ctx, job_id, on_tick=drain), body)
    drain()
    reader.close()
    return (received[0] if received else None), code, stopped


# --- a fanned-out job -------------------------------------------------------------------------
def _run_fanned_out(ctx: Context, job_id: int) -> JobView:
    """The job runner's usual lifecycle (running, the end map, the end) around the fan-out body."""
    runner = JobRunner(ctx, executor=ForegroundExecutor(), bodies=_FANOUT_BODIES, recover=False)
    try:
        return runner.run(job_id)
    finally:
        runner.shutdown()


def _fanout_body(ctx: Context, job: JobView, reporter: Reporter) -> JobOutcome:
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
    message, code, stopped = _in_child(ctx, job.job_id, child.run_stage, (job.job_id, dict(_overrides)))
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
        resources = {"GPU": 1} if gpu and accelerated(bot) else None
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
