"""The audit log's hash chain: each row proves the rows before it.

A row's `row_hash` is the SHA-256 of the previous row's hash and the row's canonical content (id,
time, actor, action, target, outcome, reason, detail). Editing, deleting, inserting or reordering
rows, even after the append-only triggers were dropped, leaves a link that no longer matches;
`verify` walks the log in id order and names the first one. The one-row head table records where
the chain ends, so rows cut from the end show too. The repeat count of a row (identical refusals
within a minute) may grow after it was written, so it has its own `tally_hash` over the row hash.

Here, beside the tables, because `db copy` verifies the chain at its destination.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.db.models import AuditEntry, AuditHead

GENESIS = "0" * 64  # the "previous hash" of the first row
HEAD_ID = 1
HASHED = ("id", "created_at", "actor", "actor_kind", "action", "target", "outcome", "reason", "detail")


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes a row's hash covers: its immutable columns as sorted, compact, ASCII JSON."""
    content = {
        "id": fields["id"],
        "created_at": _time(fields["created_at"]),
        "actor": fields["actor"],
        "actor_kind": fields["actor_kind"],
        "action": fields["action"],
        "target": fields["target"],
        "outcome": fields["outcome"],
        "reason": fields["reason"],
        "detail": fields["detail"],
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def link_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


def tally_hash(row_hash: str, repeats: int, last_at: datetime | None) -> str:
    return hashlib.sha256(f"{row_hash}\n{repeats}\n{_time(last_at)}".encode()).hexdigest()


def fields_of(row: Any) -> dict[str, Any]:
    """The hashed columns of an `AuditEntry` (or a result row with the same names)."""
    return {name: getattr(row, name) for name in HASHED}


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None = None  # the id of the first row whose link fails (None: intact)
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "rows": self.rows,
            "broken_at": self.broken_at,
            "problem": self.problem,
        }


def verify(conn: Connection | Session) -> ChainReport:
    """Walk the whole log in id order; the first link that fails is reported, with what it means."""
    columns = [getattr(AuditEntry, c) for c in ("prev_hash", "row_hash", "repeats", "last_at", "tally_hash")]
    query = select(*(getattr(AuditEntry, c) for c in HASHED), *columns).order_by(AuditEntry.id)
    prev, count, last_id = GENESIS, 0, 0
    for row in conn.execute(query):
        count += 1
        if row.prev_hash != prev:
            return ChainReport(
                count,
                row.id,
                f"row {row.id} does not follow row {last_id or 'the start'}: a row before it was deleted, "
                "inserted or moved",
            )
        if row.row_hash != link_hash(prev, fields_of(row)):
            return ChainReport(count, row.id, f"row {row.id} was changed after it was written")
        if row.tally_hash != tally_hash(row.row_hash, row.repeats, row.last_at):
            return ChainReport(count, row.id, f"the repeat count of row {row.id} was changed")
        prev, last_id = row.row_hash, row.id
    head = conn.execute(
        select(AuditHead.last_id, AuditHead.last_hash, AuditHead.rows).where(AuditHead.id == HEAD_ID)
    ).first()
    head_id, head_hash, head_rows = tuple(head) if head else (0, GENESIS, 0)
    if (head_id, head_hash, head_rows) != (last_id, prev, count):
        return ChainReport(
            count,
            last_id or None,
            f"the log ends at row {last_id} ({count} rows) but its head records row {head_id} "
            f"({head_rows} rows): rows were removed from or added at its end",
        )
    return ChainReport(count)
