"""What each kind of job does. Bodies take (ctx, job, progress, should_cancel) and return a result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.context import Context
from core.jobs.store import CancelFn, JobView, ProgressFn

LABELING_KEYS = ("lookback_days", "samples", "labeler", "sampling", "seed", "refresh", "bypass_cache", "end")


def training_job(ctx: Context, job: JobView, progress: ProgressFn, should_cancel: CancelFn) -> dict[str, Any]:
    """Quick, full and manual training: label (fresh bars first) and train, then the promotion gate."""
    from core.training.service import train

    params = job.params
    labeling = {key: params[key] for key in LABELING_KEYS if key in params}
    if isinstance(labeling.get("end"), str):  # job params are JSON: times travel as ISO text
        labeling["end"] = datetime.fromisoformat(labeling["end"])
    result = train(
        ctx,
        job.symbol,
        job.timeframe,
        bots=list(params["bots"]),
        label_set_id=params.get("label_set_id"),
        labeling=labeling or None,
        activate=params.get("activate", "gate"),
        training_type=job.kind,
        job_id=job.job_id,
        progress=progress,
        should_cancel=should_cancel,
    )
    return result.as_json()


def retrain_job(ctx: Context, job: JobView, progress: ProgressFn, should_cancel: CancelFn) -> dict[str, Any]:
    """Continuous learning for one pair from its recorded, closed paper or live samples."""
    from core.learning.retrain import retrain_pair

    outcome = retrain_pair(
        ctx,
        job.symbol,
        job.timeframe,
        min_samples=int(job.params.get("min_samples", ctx.settings.retrain_min_samples)),
        bots=job.params.get("bots"),
        job_id=job.job_id,
        progress=progress,
        should_cancel=should_cancel,
    )
    return outcome.as_json()


BODIES = {"quick": training_job, "full": training_job, "manual": training_job, "retrain": retrain_job}
