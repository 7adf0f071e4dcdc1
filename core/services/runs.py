"""Starting, waiting for and stopping work: training, labeling, retrain, the chart-view trigger.

Every function validates through `core.checks` before anything is written, then submits through
the one `JobRunner`; which executor that runner has (foreground for the CLI, threads for the
dashboard and the scheduler, a detached process for `trigger`) decides only where the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.checks import check
from core.context import Context
from core.jobs import store
from core.jobs.runner import JobRunner
from core.jobs.store import JobAlreadyActive, JobView
from core.jobs.triggers import TriggerResult, trigger
from core.learning.retrain import pairs_ready_for_retrain
from core.requests import LabelingRequest, RetrainRequest, RetrainSweep, TrainingRequest, TriggerRequest
from core.services.actors import Actor, Permission, authorize
from core.services.audited import Arguments, audited


def _pair(arguments: Arguments) -> str:
    request = arguments["request"]
    return f"{request.symbol} {request.timeframe}"


def _job(job: JobView) -> dict[str, Any]:
    return {"job_id": job.job_id, "kind": job.kind, "status": job.status}


@audited("train", target=_pair, detail=_job)
def start_training(runner: JobRunner, actor: Actor, request: TrainingRequest) -> JobView:
    """Queue (or, with the foreground executor, run) a training job; `BadInput` writes nothing."""
    authorize(actor, Permission.TRAIN)
    check(request, runner.ctx)
    return runner.submit(request, requested_by=actor.name)


@audited("label", target=_pair, detail=_job)
def start_labeling(runner: JobRunner, actor: Actor, request: LabelingRequest) -> JobView:
    """A label-only run as a job of its own (it does not take the pair's training slot)."""
    authorize(actor, Permission.LABEL)
    check(request, runner.ctx)
    return runner.submit(request, requested_by=actor.name)


@dataclass
class RetrainStarted:
    jobs: list[JobView] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


@audited(
    "retrain",
    target=lambda a: f"pairs with at least {a['sweep'].min_samples} closed samples",
    detail=lambda started: {"job_ids": [j.job_id for j in started.jobs], "skipped": len(started.skipped)},
)
def start_retrain(
    runner: JobRunner, actor: Actor, sweep: RetrainSweep, *, only_ready: bool = False
) -> RetrainStarted:
    """One retrain job per pair with closed samples (`only_ready`: with enough for some bot)."""
    authorize(actor, Permission.TRAIN)
    started = RetrainStarted()
    for symbol, tf in pairs_ready_for_retrain(runner.ctx, sweep.min_samples if only_ready else 1):
        request = RetrainRequest(symbol=symbol, timeframe=tf, min_samples=sweep.min_samples)
        try:
            started.jobs.append(runner.submit(request, requested_by=actor.name))
        except JobAlreadyActive as exc:
            started.skipped.append({"symbol": symbol, "timeframe": tf, "reason": str(exc)})
    return started


@audited("retrain", target=_pair, detail=_job)
def start_replay_and_retrain(runner: JobRunner, actor: Actor, request: RetrainRequest) -> JobView:
    """One pair's offline loop as one job: replay its newest bars as paper trades (the live model,
    or the best candidate, on bars it never saw), then retrain from the closed outcomes."""
    authorize(actor, Permission.TRAIN)
    check(request, runner.ctx)
    return runner.submit(request, requested_by=actor.name)


@audited(
    "train",
    target=_pair,
    detail=lambda result: {"job_id": result.job_id, "kind": "quick", "reason": result.reason},
    changed=lambda result: result.started,  # a fresh or busy pair's chart view changes nothing
)
def trigger_training(runner: JobRunner, actor: Actor, request: TriggerRequest) -> TriggerResult:
    """The chart-view path: quick training if the pair is stale (or `force`)."""
    authorize(actor, Permission.TRAIN)
    return trigger(runner, request, requested_by=actor.name)


@audited("cancel", target=lambda a: f"job {a['job_id']}", detail=_job)
def cancel_job(ctx: Context, actor: Actor, job_id: int) -> JobView:
    """Ask a job to stop: a queued one ends at once, a running one at its next stage."""
    authorize(actor, Permission.CANCEL)
    return store.request_cancel(ctx.db, job_id)
