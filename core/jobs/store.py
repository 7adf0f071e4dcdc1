"""Training jobs in the database: creation under a cross-process lock, progress, and the end state.

At most one queued or running job per (symbol, timeframe): the job holds the unique
`active_slot` "SYMBOL|TF" until it ends, so a second process inserting the same slot fails in
the database itself, whichever process or thread it comes from.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db.database import Database
from core.db.models import TrainingJob
from core.db.types import utcnow
from core.errors import CandleLabError, NotFound
from core.requests import JOB_KINDS, LabelingRequest, RetrainRequest, TrainingRequest, parse_job_request

JobRequest = LabelingRequest | TrainingRequest | RetrainRequest

ACTIVE_STATUSES = ("queued", "running")
# How often a queue (a process pool, a cluster's running tasks) refreshes its waiting jobs' heartbeat,
# and how old a heartbeat must be to be written again (well inside recovery's ORPHAN_AFTER).
QUEUED_HEARTBEAT_S = 10.0
QUEUED_REFRESH_AFTER_S = 30.0
END_STATUSES = ("succeeded", "failed", "cancelled", "interrupted", "budget_exhausted")
JOB_STATUSES = ACTIVE_STATUSES + END_STATUSES


class JobAlreadyActive(CandleLabError):
    """Another job for this (symbol, timeframe) is queued or running."""

    def __init__(self, job_id: int | None, symbol: str, timeframe: str) -> None:
        super().__init__(
            f"a training job for {symbol} {timeframe} is already queued or running (job {job_id})"
        )
        self.job_id = job_id


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def slot_for(symbol: str, timeframe: str) -> str:
    return f"{symbol}|{timeframe}"


class JobView(BaseModel):
    """A detached snapshot of a job row, safe to pass between threads, to the dashboard and out of
    the service API, which answers with this view: its JSON there leaves out the request's params
    and the cancel flag, and carries `result` only when one job is asked for."""

    model_config = ConfigDict(frozen=True)

    job_id: int
    kind: str
    symbol: str
    timeframe: str
    status: str
    progress: float
    stage: str
    error: str | None
    params: dict[str, Any] = Field(exclude=True)
    requested_by: str
    llm_calls: int
    cost_usd: float
    label_set_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = Field(None, description="what the job made (asked for one job only)")
    cancel_requested: bool = Field(exclude=True)

    @field_serializer("progress")
    def _progress(self, value: float) -> float:
        return round(value, 4)

    @field_serializer("cost_usd")
    def _cost(self, value: float) -> float:
        return round(value, 6)

    @classmethod
    def of(cls, job: TrainingJob) -> JobView:
        return cls(
            job_id=job.id,
            kind=job.kind,
            symbol=job.symbol,
            timeframe=job.timeframe,
            status=job.status,
            progress=job.progress,
            stage=job.stage,
            error=job.error,
            params=dict(job.params or {}),
            requested_by=job.requested_by,
            llm_calls=job.llm_calls,
            cost_usd=job.cost_usd,
            label_set_id=job.label_set_id,
            result=job.result,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            cancel_requested=job.cancel_requested,
        )

    @property
    def request(self) -> JobRequest:
        """The typed request the job was submitted with (its params, validated again)."""
        return parse_job_request(self.kind, self.params)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def as_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "status": self.status,
            "progress": round(self.progress, 4),
            "stage": self.stage,
            "error": self.error,
            "requested_by": self.requested_by,
            "llm_calls": self.llm_calls,
            "cost_usd": round(self.cost_usd, 6),
            "label_set_id": self.label_set_id,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def active_job(db: Database, symbol: str, timeframe: str) -> JobView | None:
    """The pair's queued or running training job (the one holding its slot), if any."""
    query = select(TrainingJob).where(TrainingJob.active_slot == slot_for(symbol, timeframe))
    with db.read() as session:
        job = session.scalar(query)
        return JobView.of(job) if job is not None else None


def holds_pair_slot(kind: str) -> bool:
    """Training jobs hold their pair's slot; a label-only run does not (it registers no model)."""
    return kind != "label"


def create_job(
    db: Database, request: JobRequest, *, requested_by: str = "cli", status: str = "queued"
) -> JobView:
    """Insert the job of a request; a training job holds the pair's slot (`JobAlreadyActive` if taken)."""
    kind, symbol, timeframe = request.kind, request.symbol, request.timeframe
    if kind not in JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    if status not in ACTIVE_STATUSES:
        raise ValueError("a new job starts queued or running")
    try:
        with db.session() as session:
            job = TrainingJob(
                kind=kind,
                symbol=symbol,
                timeframe=timeframe,
                params=request.as_params(),
                status=status,
                active_slot=slot_for(symbol, timeframe) if holds_pair_slot(kind) else None,
                stage="queued" if status == "queued" else "starting",
                requested_by=requested_by[:32],
                owner=owner_tag(),
                started_at=utcnow() if status == "running" else None,
                heartbeat_at=utcnow(),
            )
            session.add(job)
            session.flush()
            return JobView.of(job)
    except IntegrityError:
        other = active_job(db, symbol, timeframe)
        raise JobAlreadyActive(other.job_id if other else None, symbol, timeframe) from None


def mark_running(db: Database, job_id: int) -> JobView:
    with db.session() as session:
        job = _get(session, job_id)
        job.status = "running"
        job.owner = owner_tag()
        job.started_at = job.started_at or utcnow()
        job.heartbeat_at = utcnow()
        job.stage = "starting"
        return JobView.of(job)


def update_progress(db: Database, job_id: int, fraction: float, stage: str, **fields: Any) -> None:
    """Record progress; also a heartbeat. Extra fields (llm_calls, cost_usd, label_set_id) may ride along."""
    values: dict[str, Any] = {
        "progress": min(max(float(fraction), 0.0), 1.0),
        "stage": stage[:200],
        "heartbeat_at": utcnow(),
        **fields,
    }
    with db.session() as session:
        session.execute(update(TrainingJob).where(TrainingJob.id == job_id).values(**values))


def hand_over(db: Database, job_id: int, owner: str) -> None:
    """A queued job now belongs to `owner` (a cluster queue): its heartbeat comes from there."""
    with db.session() as session:
        session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job_id, TrainingJob.status == "queued")
            .values(owner=owner[:128], heartbeat_at=utcnow())
        )


def touch_queued(db: Database, owner_prefix: str, older_than: float = 0.0) -> int:
    """Refresh the heartbeat of the queued jobs whose owner starts with `owner_prefix`.

    Only rows whose heartbeat is older than `older_than` seconds are written, so many processes
    keeping one queue alive write each row once per interval, not once each.
    """
    now = utcnow()
    with db.session() as session:
        result = session.execute(
            update(TrainingJob)
            .where(
                TrainingJob.status == "queued", TrainingJob.owner.startswith(owner_prefix, autoescape=True)
            )
            .where(TrainingJob.heartbeat_at < now - timedelta(seconds=older_than))
            .values(heartbeat_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cancel_requested(db: Database, job_id: int) -> bool:
    with db.read() as session:
        return bool(session.scalar(select(TrainingJob.cancel_requested).where(TrainingJob.id == job_id)))


def request_cancel(db: Database, job_id: int) -> JobView:
    """Ask a job to stop. A queued job ends at once; a running one stops at its next stage."""
    with db.session() as session:
        job = _get(session, job_id)
        if job.status == "queued":
            _end(job, "cancelled", error="cancelled before it started")
        elif job.status == "running":
            job.cancel_requested = True
        return JobView.of(job)


def finish_job(
    db: Database,
    job_id: int,
    status: str,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    **fields: Any,
) -> JobView:
    """End a job: release its slot in the same transaction that writes the end state."""
    if status not in END_STATUSES:
        raise ValueError(f"{status!r} is not an end state")
    with db.session() as session:
        job = _get(session, job_id)
        _end(job, status, error=error, result=result)
        for key, value in fields.items():
            setattr(job, key, value)
        return JobView.of(job)


def _end(
    job: TrainingJob, status: str, *, error: str | None = None, result: dict[str, Any] | None = None
) -> None:
    job.status = status
    job.active_slot = None
    job.finished_at = utcnow()
    job.error = error
    if status == "succeeded":
        job.progress = 1.0
        job.stage = "done"
    else:
        job.stage = status
    if result is not None:
        job.result = result


def get_job(db: Database, job_id: int) -> JobView:
    with db.read() as session:
        return JobView.of(_get(session, job_id))


def list_jobs(
    db: Database,
    *,
    status: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[JobView]:
    query = select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit).offset(offset)
    if kind:
        query = query.where(TrainingJob.kind == kind)
    if status:
        query = query.where(TrainingJob.status == status)
    if symbol:
        query = query.where(TrainingJob.symbol == symbol)
    if timeframe:
        query = query.where(TrainingJob.timeframe == timeframe)
    with db.read() as session:
        return [JobView.of(job) for job in session.scalars(query)]


def _get(session: Session, job_id: int) -> TrainingJob:
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise NotFound(f"training job {job_id} does not exist")
    return job


def exit_code(status: str) -> int:
    """The one rule from a job's end state to a command's exit code (README, "Exit codes").

    0 when the job did its work: `succeeded`, or `budget_exhausted` (it stopped cleanly on the daily
    LLM budget and kept what it had; the output says so). 1 for every other end: `failed`,
    `cancelled`, `interrupted`. Bad input never gets this far: it exits 2 before a job exists.
    """
    return 0 if status in ("succeeded", "budget_exhausted") else 1
