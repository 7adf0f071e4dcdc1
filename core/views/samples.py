"""Recorded training samples (paper and live trades) for the Samples page: filtered pages, the P&L
distribution of the whole filter, one sample in full, and a CSV of everything that matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from core.context import Context
from core.db.models import AIModelVersion, AITrainingSample
from core.learning.queries import OUTCOMES, SAMPLE_FIELDS, SampleFilter, get_sample, list_samples
from core.requests import RetrainRequest, parse

__all__ = ["OUTCOMES", "SampleFilter"]

EXPORT_LIMIT = 100_000
REPLAY_BARS = 2000  # what `simulate` replays by default


def replay_request(symbol: str, timeframe: str) -> RetrainRequest:
    """The Samples page's "Replay and retrain": `simulate` with its defaults, then a retrain from
    every closed sample (`retrain --min-samples 1`), as one job of the pair."""
    return parse(RetrainRequest, symbol=symbol, timeframe=timeframe, min_samples=1, replay_bars=REPLAY_BARS)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive times: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class FilterOptions:
    symbols: list[str]
    bots: list[str]
    version_ids: list[int]
    first: datetime | None = None  # the oldest and newest prediction: the date filter's bounds
    last: datetime | None = None
    version_labels: dict[int, str] = field(default_factory=dict)  # id -> "xgb_agent v2"


def filter_options(ctx: Context) -> FilterOptions:
    s = AITrainingSample
    with ctx.db.read() as session:
        symbols = sorted(session.scalars(select(s.symbol).distinct()))
        bots = sorted(session.scalars(select(s.bot).distinct()))
        versions = sorted(v for v in session.scalars(select(s.version_id).distinct()) if v is not None)
        first, last = session.execute(select(func.min(s.predicted_at), func.max(s.predicted_at))).one()
        v = AIModelVersion
        named = session.execute(select(v.id, v.bot, v.bot_version).where(v.id.in_(versions))).all()
    labels = {i: f"{bot} v{number or i}" for i, bot, number in named}
    return FilterOptions(symbols, bots, versions, as_utc(first), as_utc(last), labels)


def page(ctx: Context, filters: SampleFilter, *, page_size: int, page_no: int) -> tuple[int, pd.DataFrame]:
    """(total matches, the rows of page `page_no` counted from 1), newest first."""
    with ctx.db.read() as session:
        result = list_samples(session, filters, limit=page_size, offset=max(0, page_no - 1) * page_size)
    return result.total, pd.DataFrame(result.samples, columns=list(SAMPLE_FIELDS))


def pnl_values(ctx: Context, filters: SampleFilter) -> pd.DataFrame:
    """pnl_pct and correctness of every closed sample matching the filter (for the distribution)."""
    s = AITrainingSample
    query = filters.apply(select(s.pnl_pct, s.prediction_correct, s.bot)).where(s.status == "closed")
    with ctx.db.read() as session:
        rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["pnl_pct", "prediction_correct", "bot"])


def detail(ctx: Context, sample_id: int) -> dict[str, Any] | None:
    with ctx.db.read() as session:
        return get_sample(session, sample_id)


def export_csv(ctx: Context, filters: SampleFilter) -> bytes:
    with ctx.db.read() as session:
        result = list_samples(session, filters, limit=EXPORT_LIMIT, with_features=False)
    return pd.DataFrame(result.samples, columns=list(SAMPLE_FIELDS)).to_csv(index=False).encode()
