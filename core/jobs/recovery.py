"""Finding jobs whose process died, and closing them as `interrupted` so their pair is free again.

A job belongs to the process named in its `owner` ("host:pid"), which refreshes `heartbeat_at`
while the job is queued or running. A job is orphaned when its owner on this host is gone, or
when no heartbeat arrived for `ORPHAN_AFTER` on any host. Queued jobs get a short grace period
because the command that queued them may exit before its worker process has started.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.database import Database
from core.db.models import AIModelVersion, LabelSet, ModelTrainingRecord, TrainingJob
from core.db.types import utcnow
from core.jobs.store import ACTIVE_STATUSES
from core.registry.versions import discard_versions

log = logging.getLogger(__name__)

ORPHAN_AFTER = timedelta(minutes=2)
QUEUED_GRACE = timedelta(seconds=30)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner_dead(owner: str | None) -> bool:
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine: only the heartbeat can tell
    return not _pid_alive(int(pid))


def is_orphaned(job: TrainingJob, now: datetime) -> bool:
    beat = job.heartbeat_at or job.started_at or job.created_at
    silent = now - beat
    if silent > ORPHAN_AFTER:
        return True
    if not _owner_dead(job.owner):
        return False
    return job.status == "running" or silent > QUEUED_GRACE


def job_versions(session: Session, job_id: int) -> list[tuple[int, bool]]:
    """(version id, is active) of every version a job registered."""
    rows = session.execute(
        select(AIModelVersion.id, AIModelVersion.active_slot.is_not(None))
        .join(ModelTrainingRecord, ModelTrainingRecord.id == AIModelVersion.training_record_id)
        .where(ModelTrainingRecord.job_id == job_id)
        .order_by(AIModelVersion.id)
    ).all()
    return [(int(version_id), bool(active)) for version_id, active in rows]


def discard_job_versions(db: Database, job_id: int, reason: str) -> list[int]:
    """Discard what a job registered and did not activate: a job that never committed leaves no
    `ready` version behind (nothing a person or a page could pick up by mistake)."""
    with db.read() as session:
        inactive = [version_id for version_id, active in job_versions(session, job_id) if not active]
    return discard_versions(db, inactive, reason)


def _summary(job: TrainingJob, was: str, active: list[int], discarded: list[int]) -> str:
    """What recovery tells about an interrupted job, true to the registry."""
    head = f"the process running this job ({job.owner or 'unknown'}) stopped while it was {was}; "
    return head + _kept(active, discarded) + " Start it again when ready."


def recover_orphans(
    db: Database, now: datetime | None = None, *, supervised: Collection[int] = ()
) -> list[int]:
    """Mark orphaned jobs `interrupted`, release their slots and close what they left running.

    Called where a process starts work (the runner, the scheduler's tick) and on every heartbeat
    of a long-lived process's runner; it writes only when it finds a job to close. `supervised`
    are the jobs the calling process runs itself: their supervisor records how their body ended
    (the signal, the exit code), which a heartbeat check could only guess.
    """
    now = now or utcnow()
    recovered: dict[int, str] = {}  # job id → the status it had

    def orphaned(job: TrainingJob) -> bool:
        return job.id not in supervised and is_orphaned(job, now)

    with db.read() as session:  # the usual answer is "none": it takes no write lock
        active = session.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE_STATUSES))).all()
        if not any(orphaned(job) for job in active):
            return []
    with db.session() as session:
        jobs = session.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE_STATUSES))).all()
        for job in filter(orphaned, jobs):
            recovered[job.id] = job.status
            _close(session, job, now)
    for job_id, was in recovered.items():
        discarded = discard_job_versions(db, job_id, "its process stopped before the job committed")
        with db.session() as session:
            job = session.get(TrainingJob, job_id)
            active = [v for v, is_active in job_versions(session, job_id) if is_active]
            if job is not None:
                job.error = _summary(job, was, active, discarded)
        log.warning("AI training job %d interrupted: its process is gone", job_id)
    return list(recovered)


def close_abandoned(db: Database, job_id: int, status: str, why: str) -> bool:
    """End a job whose process stopped (or was stopped) without recording an end itself.

    A supervisor calls this when the child running a job body is gone: `interrupted` when it
    died, `cancelled` when it was ended on request. Like recovery, it releases the pair, closes
    what the job left running and discards its versions that never went live. False when the job
    had already ended (its process recorded the end before it exited).
    """
    with db.session() as session:
        job = session.get(TrainingJob, job_id)
        if job is None or job.status not in ACTIVE_STATUSES:
            return False
        _close(session, job, utcnow(), status)
        job.error = why  # with the end itself: no reader sees the job ended without its reason
    discarded = discard_job_versions(db, job_id, f"its job ended {status} before it committed")
    with db.session() as session:
        job = session.get(TrainingJob, job_id)
        active = [v for v, is_active in job_versions(session, job_id) if is_active]
        if job is not None:
            job.error = f"{why}; " + _kept(active, discarded)
    log.warning("AI training job %d %s: %s", job_id, status, why)
    return True


def _kept(active: list[int], discarded: list[int]) -> str:
    if active:
        kept = f"version(s) {', '.join(str(v) for v in active)} of it had been activated and stay active"
    else:
        kept = "no model from it was activated"
    if discarded:
        kept += f"; version(s) {', '.join(str(v) for v in discarded)} were discarded"
    return kept + "."


def _close(session: Session, job: TrainingJob, now: datetime, status: str = "interrupted") -> None:
    job.status = status
    job.active_slot = None
    job.finished_at = now
    job.stage = status
    session.execute(
        update(ModelTrainingRecord)
        .where(ModelTrainingRecord.job_id == job.id, ModelTrainingRecord.status == "running")
        .values(status="failed", error="interrupted: the training process stopped", finished_at=now)
    )
    session.execute(
        update(LabelSet)
        .where(LabelSet.job_id == job.id, LabelSet.status == "running")
        .values(status="interrupted", message="the labeling process stopped", finished_at=now)
    )
