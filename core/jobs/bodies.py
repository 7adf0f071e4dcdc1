"""What each kind of job does. Bodies take (ctx, job, progress, should_cancel) and return a result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.context import Context
from core.db.models import LabelSet
from core.errors import BadInput, BudgetExhausted
from core.jobs.store import CancelFn, JobView, ProgressFn

LABELING_KEYS = ("lookback_days", "samples", "labeler", "sampling", "seed", "refresh", "bypass_cache", "end")


def training_job(ctx: Context, job: JobView, progress: ProgressFn, should_cancel: CancelFn) -> dict[str, Any]:
    """Quick, full and manual training: label (fresh bars first) and train, then the promotion gate."""
    from core.training.service import train

    params = job.params
    ctx = ctx.for_llm_provider(params.get("llm_provider"))  # a run may pick its LLM provider
    labeling = {key: params[key] for key in LABELING_KEYS if key in params}
    if isinstance(labeling.get("end"), str):  # job params are JSON: times travel as ISO text
        labeling["end"] = datetime.fromisoformat(labeling["end"])
    try:
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
    except BadInput as exc:
        stopped = _budget_stop(ctx, job.job_id)
        if stopped:  # too few labels because the budget ran out: say that, not "too few labels"
            raise BudgetExhausted(f"{stopped}; {exc}") from None
        raise
    out = result.as_json()
    stopped = _budget_stop(ctx, job.job_id)
    if stopped:
        out["status"], out["message"] = "budget_exhausted", f"{stopped}; trained on the labels it has"
    return out


def _budget_stop(ctx: Context, job_id: int) -> str | None:
    """The message of this job's label set when it stopped on the daily LLM budget."""
    with ctx.db.read() as session:
        label_set = session.scalar(
            select(LabelSet)
            .where(LabelSet.job_id == job_id, LabelSet.status == "budget_exhausted")
            .order_by(LabelSet.id.desc())
        )
        if label_set is None:
            return None
        return f"label set {label_set.id} stopped on the daily LLM budget ({label_set.labeled} labeled)"


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
