"""Persisting label sets and reading them back as frames for training and inspection.

The functions taking a session join the caller's transaction (a labeling run writing its set,
training reading labels beside bars); those taking the database are the reads for everyone
else and return frozen views.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core.data.store import as_utc
from core.db.database import Database
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


# --- reads for pages, the CLI and the API: take the database, return frozen views --------------


@dataclass(frozen=True)
class LabelSetView:
    """A detached snapshot of a label set row."""

    id: int
    symbol: str
    timeframe: str
    labeler: str
    provider: str | None
    model: str | None
    prompt_version: str | None
    sampling: str
    seed: int
    lookback_days: int | None
    requested: int
    labeled: int
    rejected: int
    api_calls: int
    cache_hits: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    wall_s: float
    status: str
    message: str | None
    params: dict[str, Any]
    quality: dict[str, Any] | None
    data_start: datetime | None
    data_end: datetime | None
    job_id: int | None
    created_at: datetime
    finished_at: datetime | None
    knowledge_cutoff: date | None
    invalid_replies: int

    @classmethod
    def of(cls, row: LabelSet) -> LabelSetView:
        return cls(
            row.id,
            row.symbol,
            row.timeframe,
            row.labeler,
            row.provider,
            row.model,
            row.prompt_version,
            row.sampling,
            row.seed,
            row.lookback_days,
            row.requested,
            row.labeled,
            row.rejected,
            row.api_calls,
            row.cache_hits,
            row.tokens_in,
            row.tokens_out,
            row.cost_usd,
            row.wall_s,
            row.status,
            row.message,
            dict(row.params or {}),
            dict(row.quality) if row.quality is not None else None,
            row.data_start,
            row.data_end,
            row.job_id,
            row.created_at,
            row.finished_at,
            row.knowledge_cutoff,
            row.invalid_replies or 0,
        )


def label_set(db: Database, label_set_id: int) -> LabelSetView:
    """The set as stored (`NotFound` when there is no such set)."""
    with db.read() as session:
        return LabelSetView.of(get_label_set(session, label_set_id))


def label_sets(
    db: Database, symbol: str | None = None, timeframe: str | None = None, limit: int = 200
) -> list[LabelSetView]:
    """Newest first, of one pair when it is given."""
    with db.read() as session:
        return [LabelSetView.of(row) for row in list_label_sets(session, symbol, timeframe, limit)]


def accepted_counts(db: Database, label_set_ids: Iterable[int]) -> dict[int, int]:
    """How many accepted labels each of these sets holds now (a running set's progress)."""
    ids = list(label_set_ids)
    if not ids:
        return {}
    query = (
        select(Label.label_set_id, func.count())
        .where(Label.label_set_id.in_(ids), Label.status == "accepted")
        .group_by(Label.label_set_id)
    )
    with db.read() as session:
        return {set_id: int(n) for set_id, n in session.execute(query).all()}


def read_labels(db: Database, label_set_id: int, *, accepted_only: bool = True) -> pd.DataFrame:
    """`load_labels` in a read transaction of its own."""
    with db.read() as session:
        return load_labels(session, label_set_id, accepted_only=accepted_only)


@dataclass(frozen=True)
class LabelView:
    """One stored label in full: the reply as validated, the context sent, its outcome."""

    id: int
    label_set_id: int
    ts: datetime
    status: str
    reject_reason: str | None
    recommendation: str | None
    bias: str | None
    confidence: float | None
    current_price: float
    target: float | None
    stop_loss: float | None
    horizon_bars: int | None
    reasoning: str | None
    raw_reply: str | None
    context: dict[str, Any] | None
    llm_call_id: int | None
    outcome: str | None
    outcome_return: float | None
    outcome_bars: int | None
    knowledge_cutoff: date | None
    pre_cutoff: bool | None


def label(db: Database, label_id: int) -> LabelView | None:
    with db.read() as session:
        row = session.get(Label, label_id)
        if row is None:
            return None
        return LabelView(
            row.id,
            row.label_set_id,
            row.ts,
            row.status,
            row.reject_reason,
            row.recommendation,
            row.bias,
            row.confidence,
            row.current_price,
            row.target,
            row.stop_loss,
            row.horizon_bars,
            row.reasoning,
            row.raw_reply,
            row.context,
            row.llm_call_id,
            row.outcome,
            row.outcome_return,
            row.outcome_bars,
            row.knowledge_cutoff,
            row.pre_cutoff,
        )
