"""The audit log: one appended row per state-changing attempt, read back with filters.

Only `record` writes. It appends a row chained by hash to the one before (core.db.audit_chain),
taking the next id itself under the writer's lock so the chain has no forks; the database refuses
UPDATE, DELETE and the replacing of a row (triggers in migrations 0006_access, 0008_audit_chain).
The one exception is a burst of identical refusals: within `REPEAT_WINDOW` of the first, later
ones are counted on its row (the count may only grow) instead of each adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core import masking
from core.db import audit_chain
from core.db.database import Database
from core.db.models import AuditEntry, AuditHead
from core.db.types import utcnow

Outcome = Literal["succeeded", "refused", "failed"]
OUTCOMES: tuple[str, ...] = ("succeeded", "refused", "failed")
REASON_MAX = 2_000
NAME_MAX = 255
REPEAT_WINDOW = timedelta(seconds=60)
# PostgreSQL writers take this transaction-scoped advisory lock to append one at a time (SQLite's
# BEGIN IMMEDIATE already serialises them): two rows must never claim the same predecessor.
_PG_LOCK_KEY = 0x4155444954  # "AUDIT"


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
    repeats: int = 1
    last_at: datetime | None = None

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
            "repeats": self.repeats,
            "last_at": self.last_at.isoformat() if self.last_at else None,
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
    """Append one row (or count a repeated refusal) in its own transaction; returns the row's id."""
    values = {
        "actor": masking.mask(entry.actor)[:NAME_MAX],
        "actor_kind": entry.actor_kind[:16],
        "action": entry.action[:32],
        "target": masking.mask(entry.target)[:NAME_MAX] if entry.target else None,
        "outcome": entry.outcome,
        "reason": masking.mask(entry.reason)[:REASON_MAX] if entry.reason else None,
        "detail": masking.mask_value(entry.detail),
    }
    with db.session() as session:
        if not db.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        now = utcnow()
        if entry.outcome == "refused":
            repeated = _recent_twin(session, values, now)
            if repeated is not None:
                repeated.repeats += 1
                repeated.last_at = now
                repeated.tally_hash = audit_chain.tally_hash(
                    repeated.row_hash or "", repeated.repeats, repeated.last_at
                )
                return repeated.id
        head = session.get(AuditHead, audit_chain.HEAD_ID)
        if head is None:
            head = AuditHead(id=audit_chain.HEAD_ID, last_id=0, last_hash=audit_chain.GENESIS, rows=0)
            session.add(head)
        row = AuditEntry(id=head.last_id + 1, created_at=now, prev_hash=head.last_hash, repeats=1, **values)
        row.row_hash = audit_chain.link_hash(head.last_hash, audit_chain.fields_of(row))
        row.tally_hash = audit_chain.tally_hash(row.row_hash, 1, None)
        session.add(row)
        head.last_id, head.last_hash, head.rows = row.id, row.row_hash, head.rows + 1
        session.flush()
        return row.id


def _recent_twin(session: Session, values: dict[str, Any], now: datetime) -> AuditEntry | None:
    """The row of the same refusal by the same actor begun less than a minute ago, if any."""
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.actor == values["actor"],
            AuditEntry.action == values["action"],
            AuditEntry.outcome == "refused",
            AuditEntry.created_at >= now - REPEAT_WINDOW,
        )
        .order_by(AuditEntry.id.desc())
        .limit(5)
    )
    for row in session.scalars(query):
        same = (row.actor_kind, row.target, row.reason, row.detail)
        if same == (values["actor_kind"], values["target"], values["reason"], values["detail"]):
            return row
    return None


def verify_chain(db: Database) -> audit_chain.ChainReport:
    """Whether every row still proves the ones before it (`audit verify`)."""
    with db.read() as session:
        return audit_chain.verify(session)


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
                r.id,
                r.created_at,
                r.actor,
                r.actor_kind,
                r.action,
                r.target,
                r.outcome,
                r.reason,
                r.detail,
                r.repeats,
                r.last_at,
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
