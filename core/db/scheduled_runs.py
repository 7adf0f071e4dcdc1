"""Rows of `scheduled_runs`: one per firing of a scheduled task, claimed by whichever process
inserts it first (the unique (name, slot) decides), and finished with what the task said."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db.database import Database
from core.db.models import ScheduledRun
from core.db.types import utcnow


def claim(db: Database, name: str, slot: str, owner: str) -> int | None:
    """Insert the (name, slot) row as `running`; its id, or None when another process has it."""
    try:
        with db.session() as session:
            run = ScheduledRun(name=name, slot=slot, owner=owner, status="running")
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def finish(db: Database, run_id: int, status: str, message: str) -> None:
    """Record how a claimed firing ended (a run deleted meanwhile is left alone)."""
    with db.session() as session:
        run = session.get(ScheduledRun, run_id)
        if run is not None:
            run.status, run.message, run.finished_at = status, message[:2000], utcnow()


def was_claimed(db: Database, name: str, slot: str) -> bool:
    """Whether any process has claimed the (name, slot) firing, whatever came of it."""
    with db.read() as session:
        found = session.scalar(
            select(ScheduledRun.id).where(ScheduledRun.name == name, ScheduledRun.slot == slot)
        )
    return found is not None
