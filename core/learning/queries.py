"""Reading recorded training samples: filtered, paged listings, the Samples page's filter choices
and P&L distribution, and the closed counts that decide a retrain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select

from core.db.database import Database
from core.db.models import AITrainingSample
from core.registry.versions import versions_by_id

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
    db: Database,
    filters: SampleFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    with_features: bool = False,
) -> SamplePage:
    """Newest first; `total` counts every match so pages can be numbered."""
    filters = filters or SampleFilter()
    query = filters.apply(select(AITrainingSample)).order_by(
        AITrainingSample.predicted_at.desc(), AITrainingSample.id.desc()
    )
    with db.read() as session:
        total = session.scalar(filters.apply(select(func.count()).select_from(AITrainingSample))) or 0
        rows = session.scalars(query.limit(max(limit, 0)).offset(max(offset, 0))).all()
        return SamplePage(int(total), [sample_row(r, with_features) for r in rows])


def get_sample(db: Database, sample_id: int) -> dict[str, Any] | None:
    with db.read() as session:
        sample = session.get(AITrainingSample, sample_id)
        return None if sample is None else sample_row(sample, with_features=True)


def closed_counts(db: Database, min_samples: int = 1) -> list[tuple[str, str, str, int]]:
    """(symbol, timeframe, bot, closed samples) for every slot with at least `min_samples`."""
    s = AITrainingSample
    query = (
        select(s.symbol, s.timeframe, s.bot, func.count())
        .where(s.status == "closed")
        .group_by(s.symbol, s.timeframe, s.bot)
        .having(func.count() >= min_samples)
        .order_by(s.symbol, s.timeframe, s.bot)
    )
    with db.read() as session:
        return [(sym, tf, bot, int(n)) for sym, tf, bot, n in session.execute(query).all()]


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive times: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class FilterOptions:
    """What the samples can be filtered by: the values present in the table."""

    symbols: list[str]
    bots: list[str]
    version_ids: list[int]
    first: datetime | None = None  # the oldest and newest prediction: the date filter's bounds
    last: datetime | None = None
    version_labels: dict[int, str] = field(default_factory=dict)  # id -> "xgb_agent v2"


def filter_options(db: Database) -> FilterOptions:
    s = AITrainingSample
    with db.read() as session:
        symbols = sorted(session.scalars(select(s.symbol).distinct()))
        bots = sorted(session.scalars(select(s.bot).distinct()))
        versions = sorted(i for i in session.scalars(select(s.version_id).distinct()) if i is not None)
        first, last = session.execute(select(func.min(s.predicted_at), func.max(s.predicted_at))).one()
    labels = {i: f"{v.bot} v{v.bot_version or i}" for i, v in versions_by_id(db, versions).items()}
    return FilterOptions(symbols, bots, versions, as_utc(first), as_utc(last), labels)


@dataclass(frozen=True)
class ClosedPnl:
    pnl_pct: float | None
    prediction_correct: bool | None
    bot: str


def closed_pnl(db: Database, filters: SampleFilter) -> list[ClosedPnl]:
    """pnl_pct, correctness and bot of every closed sample matching the filter."""
    s = AITrainingSample
    query = filters.apply(select(s.pnl_pct, s.prediction_correct, s.bot)).where(s.status == "closed")
    with db.read() as session:
        return [ClosedPnl(*row) for row in session.execute(query).all()]
