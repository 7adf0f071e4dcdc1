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
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.db.database import Database
from core.db.models import LabelSet, ModelTrainingRecord, TrainingJob
from core.db.types import utcnow
from core.jobs.store import ACTIVE_STATUSES

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


def recover_orphans(db: Database, now: datetime | None = None) -> list[int]:
    """Mark orphaned jobs `interrupted`, release their slots and close what they left running."""
    now = now or utcnow()
    recovered = []
    with db.session() as session:
        jobs = session.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE_STATUSES))).all()
        for job in jobs:
            if not is_orphaned(job, now):
                continue
            was = job.status
            job.status = "interrupted"
            job.active_slot = None
            job.finished_at = now
            job.stage = "interrupted"
            job.error = (
                f"the process running this job ({job.owner or 'unknown'}) stopped while it was {was}; "
                "no model from it was activated. Start it again when ready."
            )
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
            recovered.append(job.id)
    for job_id in recovered:
        log.warning("AI training job %d interrupted: its process is gone", job_id)
    return recovered
