"""Reading recorded training samples: filtered, paged listings for the CLI and the Samples page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.db.models import AITrainingSample

OUTCOMES = ("open", "win", "loss")
SAMPLE_FIELDS = (
    "id",
    "symbol",
    "timeframe",
    "bot",
    "version_id",
    "source",
    "predicted_at",
    "recommendation",
    "confidence",
    "entry_price",
    "target",
    "stop_loss",
    "predicted_return",
    "status",
    "exit_price",
    "exit_time",
    "exit_reason",
    "pnl",
    "pnl_pct",
    "prediction_correct",
    "recorded_at",
    "closed_at",
    "order_id",  # a trading engine's own id of the order (service API), else None
)


@dataclass(frozen=True)
class SampleFilter:
    symbol: str | None = None
    timeframe: str | None = None
    bot: str | None = None
    version_id: int | None = None
    outcome: str | None = None  # open | win | loss
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        s = AITrainingSample
        for column, value in (
            (s.symbol, self.symbol),
            (s.timeframe, self.timeframe),
            (s.bot, self.bot),
            (s.version_id, self.version_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.outcome == "open":
            query = query.where(s.status == "open")
        elif self.outcome == "win":
            query = query.where(s.status == "closed", s.prediction_correct.is_(True))
        elif self.outcome == "loss":
            query = query.where(s.status == "closed", s.prediction_correct.is_(False))
        if self.since is not None:
            query = query.where(s.predicted_at >= self.since)
        if self.until is not None:
            query = query.where(s.predicted_at <= self.until)
        return query


@dataclass(frozen=True)
class SamplePage:
    total: int
    samples: list[dict[str, Any]] = field(default_factory=list)


def sample_row(sample: AITrainingSample, with_features: bool = False) -> dict[str, Any]:
    row = {name: getattr(sample, name) for name in SAMPLE_FIELDS}
    if with_features:
        row["features"] = dict(sample.features or {})
    return row


def list_samples(
    session: Session,
    filters: SampleFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    with_features: bool = False,
) -> SamplePage:
    """Newest first; `total` counts every match so pages can be numbered."""
    filters = filters or SampleFilter()
    total = session.scalar(filters.apply(select(func.count()).select_from(AITrainingSample))) or 0
    query = filters.apply(select(AITrainingSample)).order_by(
        AITrainingSample.predicted_at.desc(), AITrainingSample.id.desc()
    )
    rows = session.scalars(query.limit(max(limit, 0)).offset(max(offset, 0))).all()
    return SamplePage(int(total), [sample_row(r, with_features) for r in rows])


def get_sample(session: Session, sample_id: int) -> dict[str, Any] | None:
    sample = session.get(AITrainingSample, sample_id)
    return None if sample is None else sample_row(sample, with_features=True)


def closed_counts(session: Session, min_samples: int = 1) -> list[tuple[str, str, str, int]]:
    """(symbol, timeframe, bot, closed samples) for every slot with at least `min_samples`."""
    s = AITrainingSample
    query = (
        select(s.symbol, s.timeframe, s.bot, func.count())
        .where(s.status == "closed")
        .group_by(s.symbol, s.timeframe, s.bot)
        .having(func.count() >= min_samples)
        .order_by(s.symbol, s.timeframe, s.bot)
    )
    return [(sym, tf, bot, int(n)) for sym, tf, bot, n in session.execute(query).all()]
