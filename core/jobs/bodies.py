"""What each kind of job does. A body takes (ctx, job, reporter) and returns how the job ended.

The job's row holds its typed request (`job.request`); the body runs the engine on it and maps
the engine's typed result to a `JobEnd`. Errors it raises are mapped by the runner, the same
for every kind: `JobCancelled` → cancelled, `BudgetExhausted` → budget_exhausted, anything else →
failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.context import Context
from core.jobs.store import JobView
from core.labeling.service import label
from core.learning.retrain import retrain_pair
from core.reporting import Reporter
from core.requests import LabelingRequest, RetrainRequest, TrainingRequest
from core.training.service import train


@dataclass(frozen=True)
class JobEnd:
    """How a body says the job ended: a status from `END_STATUSES`, its result and a message."""

    status: str = "succeeded"
    result: dict[str, Any] = field(default_factory=dict)
    message: str | None = None  # stored as the job's error for every end but `succeeded`


JobBody = Callable[[Context, JobView, Reporter], JobEnd]

# A label set's end state → the job's. A label job owns no model, so a cancel keeps its labels.
_LABEL_STATUS = {
    "succeeded": "succeeded",
    "budget_exhausted": "budget_exhausted",
    "cancelled": "cancelled",
    "auth_failed": "failed",
    "failed": "failed",
}


def label_job(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
    """A label-only run: the label set's end state is the job's."""
    request = job.request
    assert isinstance(request, LabelingRequest)
    result = label(ctx, request, reporter, job_id=job.job_id)
    status = _LABEL_STATUS[result.status]
    return JobEnd(status, result.as_json(), None if status == "succeeded" else result.message)


def training_job(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
    """Quick, full and manual training: label (fresh bars first) and train, then the gate's activations."""
    request = job.request
    assert isinstance(request, TrainingRequest)
    result = train(ctx, request, reporter, job_id=job.job_id, actor=job.requested_by)
    if result.budget_stop:
        message = f"{result.budget_stop}; trained on the labels it has"
        return JobEnd("budget_exhausted", result.as_json(), message)
    return JobEnd("succeeded", result.as_json())


def retrain_job(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
    """Continuous learning for one pair from its recorded, closed paper or live samples."""
    request = job.request
    assert isinstance(request, RetrainRequest)
    return JobEnd(
        "succeeded", retrain_pair(ctx, request, reporter, job_id=job.job_id, actor=job.requested_by).as_json()
    )


BODIES: dict[str, JobBody] = {
    "label": label_job,
    "quick": training_job,
    "full": training_job,
    "manual": training_job,
    "retrain": retrain_job,
}

__all__ = ["BODIES", "JobBody", "JobEnd"]
