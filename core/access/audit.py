"""The audit log: one appended row per state-changing attempt, read back with filters.

Only `record` writes, and it only inserts; the database refuses UPDATE and DELETE of
`audit_log` (triggers in migration 0006_access), so a row, once written, stays as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select

from core.db.database import Database
from core.db.models import AuditEntry

Outcome = Literal["succeeded", "refused", "failed"]
OUTCOMES: tuple[str, ...] = ("succeeded", "refused", "failed")
REASON_MAX = 2_000
NAME_MAX = 255


@dataclass(frozen=True)
class AuditRecord:
    actor: str
    actor_kind: str
    action: str
    outcome: Outcome
    target: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str | None
    outcome: str
    reason: str | None
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


NO_FILTER = AuditFilter()


def record(db: Database, entry: AuditRecord) -> int:
    """Append one row in its own transaction; returns its id."""
    row = AuditEntry(
        actor=entry.actor[:NAME_MAX],
        actor_kind=entry.actor_kind[:16],
        action=entry.action[:32],
        target=entry.target[:NAME_MAX] if entry.target else None,
        outcome=entry.outcome,
        reason=entry.reason[:REASON_MAX] if entry.reason else None,
        detail=entry.detail,
    )
    with db.session() as session:
        session.add(row)
        session.flush()
        return row.id


def _where(query, flt: AuditFilter):  # type: ignore[no-untyped-def]
    if flt.actor:
        query = query.where(AuditEntry.actor == flt.actor)
    if flt.action:
        query = query.where(AuditEntry.action == flt.action)
    if flt.outcome:
        query = query.where(AuditEntry.outcome == flt.outcome)
    if flt.since is not None:
        query = query.where(AuditEntry.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEntry.created_at <= flt.until)
    return query


def entries(db: Database, flt: AuditFilter = NO_FILTER, *, limit: int | None = 1_000) -> list[AuditRow]:
    """Matching rows, newest first (`limit` None: all of them, for an export)."""
    query = _where(select(AuditEntry), flt).order_by(AuditEntry.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with db.read() as session:
        return [
            AuditRow(
                r.id, r.created_at, r.actor, r.actor_kind, r.action, r.target, r.outcome, r.reason, r.detail
            )
            for r in session.scalars(query)
        ]


def count(db: Database, flt: AuditFilter = NO_FILTER) -> int:
    with db.read() as session:
        return int(session.scalar(_where(select(func.count(AuditEntry.id)), flt)) or 0)


def actors(db: Database) -> list[str]:
    """Everyone who appears in the log (the page's actor filter)."""
    with db.read() as session:
        return list(session.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)))
