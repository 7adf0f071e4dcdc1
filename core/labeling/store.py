"""Persisting label sets and reading them back as frames for training and inspection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core.data.store import as_utc
from core.db.models import Label, LabelSet
from core.db.types import utcnow
from core.errors import NotFound
from core.labeling.schema import LabelRecord

LABEL_COLUMNS = [
    "id",
    "ts",
    "status",
    "reject_reason",
    "current_price",
    "target",
    "stop_loss",
    "confidence",
    "recommendation",
    "bias",
    "news_sentiment",
    "horizon_bars",
    "outcome",
    "outcome_return",
    "outcome_bars",
    "pre_cutoff",
]


def create_label_set(session: Session, **fields: Any) -> LabelSet:
    """Insert a label set in status `running`; the caller fills in counters when it finishes."""
    label_set = LabelSet(status="running", **fields)
    session.add(label_set)
    session.flush()
    return label_set


_RECORD_FIELDS = (
    "status",
    "reject_reason",
    "current_price",
    "target",
    "stop_loss",
    "confidence",
    "recommendation",
    "bias",
    "news_sentiment",
    "horizon_bars",
    "reasoning",
    "raw_reply",
    "context",
    "llm_call_id",
    "knowledge_cutoff",
    "pre_cutoff",
)


def add_labels(session: Session, label_set_id: int, records: Iterable[LabelRecord]) -> int:
    """Store labels of a set in bulk; a point already labeled in this set is replaced, not duplicated."""
    existing = dict(
        session.execute(select(Label.ts, Label.id).where(Label.label_set_id == label_set_id)).all()
    )
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seen: set[datetime] = set()
    for rec in records:
        ts = as_utc(rec.ts)
        if ts in seen:  # the same point twice in one call: the first record stands
            continue
        seen.add(ts)
        values = {name: getattr(rec, name) for name in _RECORD_FIELDS}
        if ts in existing:
            updates.append({"id": existing[ts], **values})
        else:
            inserts.append({"label_set_id": label_set_id, "ts": ts, **values})
    if inserts:
        session.execute(insert(Label), inserts)
    if updates:
        session.execute(update(Label), updates)
    return len(inserts) + len(updates)


def finish_label_set(session: Session, label_set_id: int, *, status: str, **fields: Any) -> LabelSet:
    label_set = get_label_set(session, label_set_id)
    label_set.status = status
    label_set.finished_at = utcnow()
    for key, value in fields.items():
        setattr(label_set, key, value)
    return label_set


def get_label_set(session: Session, label_set_id: int) -> LabelSet:
    label_set = session.get(LabelSet, label_set_id)
    if label_set is None:
        raise NotFound(f"label set {label_set_id} does not exist; `python -m core label …` creates one")
    return label_set


def list_label_sets(
    session: Session, symbol: str | None = None, timeframe: str | None = None, limit: int = 200
) -> list[LabelSet]:
    query = select(LabelSet).order_by(LabelSet.id.desc()).limit(limit)
    if symbol:
        query = query.where(LabelSet.symbol == symbol)
    if timeframe:
        query = query.where(LabelSet.timeframe == timeframe)
    return list(session.scalars(query))


def load_labels(session: Session, label_set_id: int, *, accepted_only: bool = True) -> pd.DataFrame:
    """Labels of a set as a frame indexed by bar time (`ts`, aware UTC), oldest first."""
    get_label_set(session, label_set_id)
    query = select(*(getattr(Label, c) for c in LABEL_COLUMNS)).where(Label.label_set_id == label_set_id)
    if accepted_only:
        query = query.where(Label.status == "accepted")
    rows = session.execute(query.order_by(Label.ts)).all()
    frame = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.set_index("ts")


def firewall_counts(session: Session, label_set_id: int | None) -> dict[str, Any]:
    """For a version's lineage: the labeling model's cutoff and how many accepted labels precede it."""
    if label_set_id is None:
        return {}
    label_set = session.get(LabelSet, label_set_id)
    if label_set is None or label_set.knowledge_cutoff is None:
        return {}
    pre = session.scalar(
        select(func.count()).where(
            Label.label_set_id == label_set_id, Label.status == "accepted", Label.pre_cutoff.is_(True)
        )
    )
    return {"knowledge_cutoff": label_set.knowledge_cutoff.isoformat(), "labels_pre_cutoff": int(pre or 0)}


def update_outcomes(
    session: Session, outcomes: Iterable[dict[str, Any]], scored_at: datetime | None = None
) -> int:
    """Write quality-scoring results: dicts with `id`, `outcome`, `outcome_return`, `outcome_bars`.

    One bulk UPDATE by primary key (tens of thousands of labels score in a second); ids that no
    longer exist are skipped.
    """
    stamp = scored_at or utcnow()
    items = {int(item["id"]): item for item in outcomes}
    if not items:
        return 0
    present: set[int] = set()
    ids = list(items)
    for start in range(0, len(ids), 500):
        present.update(session.scalars(select(Label.id).where(Label.id.in_(ids[start : start + 500]))))
    rows = [
        {
            "id": label_id,
            "outcome": item["outcome"],
            "outcome_return": item.get("outcome_return"),
            "outcome_bars": item.get("outcome_bars"),
            "scored_at": stamp,
        }
        for label_id, item in items.items()
        if label_id in present
    ]
    if rows:
        session.execute(update(Label), rows)
    return len(rows)
