"""The statements behind recording and closing training samples, one write transaction each.

A trading engine posts every executed call and every close (`POST /ai/outcomes`), so these run
per request and stay at one or two prepared statements on a bare connection, with no ORM unit
of work in between. A new sample is one `INSERT ... ON CONFLICT DO NOTHING RETURNING`: a taken
order id or an already recorded call (version, bar, source) returns no row, and the database
neither raises nor logs an error for it. A close reads the row under the write lock (`BEGIN
IMMEDIATE` on SQLite, `FOR UPDATE` on PostgreSQL) together with whether its version is live,
and updates it only while it is open, in the same transaction: two racing closes cannot both win.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Insert, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from core.db.database import Database
from core.db.models import AIModelVersion, AITrainingSample

Row = dict[str, Any]

_SAMPLES = AITrainingSample.__table__
_VERSIONS = AIModelVersion.__table__
# Dialects whose INSERT takes ON CONFLICT DO NOTHING (the two CandleLab runs on).
_ON_CONFLICT: dict[str, Callable[..., Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
# The sample, locked for the close, with its version's slot when that version is live.
_WITH_SLOT = (
    select(_SAMPLES, _VERSIONS.c.active_slot.label("version_slot"))
    .outerjoin(_VERSIONS, _VERSIONS.c.id == _SAMPLES.c.version_id)
    .with_for_update(of=_SAMPLES)
)
_LOCKED_BY: dict[str, Any] = {
    "id": _WITH_SLOT.where(_SAMPLES.c.id == bindparam("key")),
    "order_id": _WITH_SLOT.where(_SAMPLES.c.order_id == bindparam("key")),
}
_CLOSE = update(_SAMPLES).where(_SAMPLES.c.id == bindparam("sample_id"), _SAMPLES.c.status == "open")
_BY_ORDER_OR_CALL = (
    select(_SAMPLES)
    .where(
        (_SAMPLES.c.order_id == bindparam("order_id"))
        | (
            (_SAMPLES.c.version_id == bindparam("version_id"))
            & (_SAMPLES.c.predicted_at == bindparam("predicted_at"))
            & (_SAMPLES.c.source == bindparam("source"))
        )
    )
    .order_by(_SAMPLES.c.id)
)


@functools.cache
def _insert(dialect: str) -> Insert:
    make = _ON_CONFLICT.get(dialect)
    if make is None:
        return insert(_SAMPLES).returning(*_SAMPLES.c)
    return make(_SAMPLES).on_conflict_do_nothing().returning(*_SAMPLES.c)  # type: ignore[no-any-return]


def insert_new(db: Database, values: Row) -> Row | None:
    """The new sample's stored row, or None when its order id or its call is recorded already."""
    dialect = db.engine.dialect.name
    try:
        with db.write() as conn:
            row = conn.execute(_insert(dialect), values).mappings().first()
    except IntegrityError:
        if dialect in _ON_CONFLICT:
            raise  # not a taken key (those return no row): a broken reference, say
        return None
    return dict(row) if row is not None else None


def existing(
    db: Database, *, order_id: str | None, version_id: int | None, predicted_at: datetime, source: str
) -> Row | None:
    """The stored row of the sample holding this order id, else of the one holding this call
    (version, bar, source); None when neither is recorded."""
    params = {"order_id": order_id, "version_id": version_id, "predicted_at": predicted_at, "source": source}
    with db.engine.connect() as conn:
        rows = conn.execute(_BY_ORDER_OR_CALL, params).mappings().all()
    mine = next((r for r in rows if order_id is not None and r["order_id"] == order_id), None)
    found = mine if mine is not None else (rows[0] if rows else None)
    return dict(found) if found is not None else None


def existing_id(
    db: Database, *, order_id: str | None, version_id: int | None, predicted_at: datetime, source: str
) -> int | None:
    """The id of `existing`'s sample."""
    row = existing(db, order_id=order_id, version_id=version_id, predicted_at=predicted_at, source=source)
    return row["id"] if row is not None else None


@dataclass(frozen=True)
class Closed:
    row: Row  # the sample as stored after the call
    closed_now: bool  # False: it was closed before (the first outcome stands, nothing written)
    version_live: bool  # its version is active, so its live record may call for a demotion


def close(
    db: Database, by: Literal["id", "order_id"], key: int | str, values_for: Callable[[Row], Row]
) -> Closed | None:
    """Close the sample `by` names (None: no such sample) with `values_for(its row)`.

    `values_for` validates and computes the closing columns; raising there (`BadInput`) rolls
    the transaction back, so nothing is written.
    """
    with db.write() as conn:
        found = conn.execute(_LOCKED_BY[by], {"key": key}).mappings().first()
        if found is None:
            return None
        row = dict(found)
        live = row.pop("version_slot") is not None
        if row["status"] == "closed":
            return Closed(row, closed_now=False, version_live=live)
        values = values_for(row)
        updated = conn.execute(_CLOSE, {"sample_id": row["id"], **values}).rowcount
        if updated != 1:  # the lock above makes this unreachable; never report a close not made
            raise RuntimeError(f"training sample {row['id']} changed while it was being closed")
    return Closed({**row, **values}, closed_now=True, version_live=live)
