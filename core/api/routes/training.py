"""The original system's training routes: generate a dataset (and train), the chart-view trigger,
job status, and the continuous-learning retrain. Each starts jobs and answers at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from core.api.deps import context, require, runner
from core.api.errors import build, documented, public_text
from core.api.schemas import (
    GenerateDatasetBody,
    Jobs,
    JobStarted,
    JobStatus,
    RetrainAnswer,
    TriggerAnswer,
    TriggerBody,
)
from core.context import Context
from core.data.providers import make_provider
from core.jobs import store
from core.jobs.runner import JobRunner
from core.jobs.store import JobView
from core.jobs.triggers import training_request, widened_lookback
from core.learning.retrain import pairs_ready_for_retrain
from core.requests import (
    DB_ID_MAX,
    MAX_SAMPLES,
    DbId,
    LabelingRequest,
    PairRequest,
    RetrainSweep,
    TrainingRequest,
    TriggerRequest,
)
from core.services import runs
from core.services.actors import Actor, Permission

router = APIRouter(tags=["training"])

Trainer = Annotated[Actor, Depends(require(Permission.TRAIN))]
Reader = Annotated[Actor, Depends(require(Permission.READ))]
Runner = Annotated[JobRunner, Depends(runner)]
Ctx = Annotated[Context, Depends(context)]

# Where the typed request's fields sit in the original body.
_NAMES = {
    "labels.lookback_days": "lookback_days",
    "labels.samples": "sample_points",
    "labels.labeler": "labeler",
    "samples": "sample_points",
    "bots": "bot_names",
}


def _provider_has(ctx: Context, pair: PairRequest) -> bool:
    provider = make_provider(ctx.settings.market_data_provider, ctx.settings)
    return provider.live or pair.timeframe in provider.symbols().get(pair.symbol, [])


def _training(ctx: Context, body: GenerateDatasetBody) -> TrainingRequest:
    """The full-training defaults (FULL_*), with what the body names instead.

    Like the original system, a run fetches fresh bars first; a stored series the configured
    provider does not produce (bars imported from a file) is labeled on its stored bars.
    """
    pair = build(PairRequest, symbol=body.symbol, timeframe=body.timeframe)
    base = training_request(ctx.settings, "full", pair.symbol, pair.timeframe).model_dump()
    labels = base["labels"]
    labels["refresh"] = labels["bypass_cache"] = _provider_has(ctx, pair)
    if body.sample_points is not None:
        labels["samples"] = body.sample_points
    if body.labeler is not None:
        labels["labeler"] = body.labeler
    if body.lookback_days is not None:
        labels["lookback_days"] = body.lookback_days
    elif isinstance(labels["samples"], int) and 1 <= labels["samples"] <= MAX_SAMPLES:
        days = widened_lookback(ctx, pair.symbol, pair.timeframe, labels["lookback_days"], labels["samples"])
        labels["lookback_days"] = float(days)
    if body.bot_names is not None:
        base["bots"] = body.bot_names
    return build(TrainingRequest, _NAMES, **base)


def _started(job: JobView) -> dict[str, Any]:
    return {"job_id": job.job_id, "kind": job.kind, "status": job.status}


@router.post(
    "/api/ai-training/generate-dataset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobStarted,
    summary="Label points of a pair and train bots on them (or label only)",
    responses=documented(404, 409, 413),
)
def generate_dataset(body: GenerateDatasetBody, actor: Trainer, ctx: Ctx, jobs: Runner) -> dict[str, Any]:
    """Starts a job and answers at once with its id: poll `GET /api/ai-training/status?job_id=`.
    `use_for_training: false` starts a label-only job (kind `label`); `bot_names` is then unused."""
    request = _training(ctx, body)
    if not body.use_for_training:
        labeling = build(LabelingRequest, _NAMES, **request.labeling_request().model_dump())
        return _started(runs.start_labeling(jobs, actor, labeling))
    return _started(runs.start_training(jobs, actor, request))


@router.post(
    "/api/ai-training/trigger-for-active-symbol",
    response_model=TriggerAnswer,
    summary="The chart-view path: quick training when the pair is stale",
    responses=documented(409, 413),
)
def trigger_for_active_symbol(body: TriggerBody, actor: Trainer, jobs: Runner) -> dict[str, Any]:
    """Starts quick training when the pair's models are older than MODEL_STALE_HOURS and no job
    runs for it; otherwise says why not (`started: false`, `state`: busy, fresh or failed_input)."""
    request = build(TriggerRequest, **body.model_dump())
    return runs.trigger_training(jobs, actor, request).as_json()


def _job(view: JobView, with_result: bool) -> JobView:
    error = public_text(view.error) if view.error else view.error  # no path of this machine
    return view.model_copy(update={"error": error, **({} if with_result else {"result": None})})


@router.get(
    "/api/ai-training/status",
    response_model=Jobs,
    summary="Jobs with status and progress",
    responses=documented(404),
)
def training_status(
    actor: Reader,
    ctx: Ctx,
    job_id: Annotated[DbId | None, Query(description="one job, with what it made")] = None,
    status: Annotated[JobStatus | None, Query(description="only jobs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    if job_id is not None:
        return {"jobs": [_job(store.get_job(ctx.db, job_id), with_result=True)]}
    jobs = store.list_jobs(ctx.db, status=status, limit=limit)
    return {"jobs": [_job(job, with_result=False) for job in jobs]}


@router.post(
    "/ai/retrain",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetrainAnswer,
    summary="Retrain from recorded outcomes: one job per pair with enough closed samples",
    responses=documented(409),
)
def retrain(
    actor: Trainer,
    ctx: Ctx,
    jobs: Runner,
    min_samples: Annotated[
        int | None, Query(ge=1, le=DB_ID_MAX, description="closed samples a bot needs")
    ] = None,
) -> dict[str, Any]:
    """Answers at once with the jobs it started; pairs without enough samples are `skipped`."""
    wanted = ctx.settings.retrain_min_samples if min_samples is None else min_samples
    sweep = build(RetrainSweep, {"min_samples": "query min_samples"}, min_samples=wanted)
    started = runs.start_retrain(jobs, actor, sweep, only_ready=True)
    skipped = list(started.skipped)
    ready = set(pairs_ready_for_retrain(ctx, sweep.min_samples))
    for symbol, tf in pairs_ready_for_retrain(ctx, 1):
        if (symbol, tf) not in ready:
            reason = f"no bot has {sweep.min_samples} closed samples yet"
            skipped.append({"symbol": symbol, "timeframe": tf, "reason": reason})
    if not started.jobs and not skipped:
        skipped.append({"reason": "no closed training samples yet: POST /ai/outcomes and close them first"})
    return {"job_ids": [job.job_id for job in started.jobs], "skipped": skipped}
