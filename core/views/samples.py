"""Recorded training samples (paper and live trades) for the Samples page: filtered pages, the P&L
distribution of the whole filter, one sample in full, and a CSV of everything that matches."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.context import Context
from core.learning import queries
from core.learning.queries import (
    OUTCOMES,
    SAMPLE_FIELDS,
    FilterOptions,
    SampleFilter,
    get_sample,
    list_samples,
)
from core.requests import RetrainRequest, parse

__all__ = ["OUTCOMES", "FilterOptions", "SampleFilter"]

EXPORT_LIMIT = 100_000
REPLAY_BARS = 2000  # what `simulate` replays by default


def replay_request(symbol: str, timeframe: str) -> RetrainRequest:
    """The Samples page's "Replay and retrain": `simulate` with its defaults, then a retrain from
    every closed sample (`retrain --min-samples 1`), as one job of the pair."""
    return parse(RetrainRequest, symbol=symbol, timeframe=timeframe, min_samples=1, replay_bars=REPLAY_BARS)


def filter_options(ctx: Context) -> FilterOptions:
    return queries.filter_options(ctx.db)


def page(ctx: Context, filters: SampleFilter, *, page_size: int, page_no: int) -> tuple[int, pd.DataFrame]:
    """(total matches, the rows of page `page_no` counted from 1), newest first."""
    result = list_samples(ctx.db, filters, limit=page_size, offset=max(0, page_no - 1) * page_size)
    return result.total, pd.DataFrame(result.samples, columns=list(SAMPLE_FIELDS))


def pnl_values(ctx: Context, filters: SampleFilter) -> pd.DataFrame:
    """pnl_pct and correctness of every closed sample matching the filter (for the distribution)."""
    rows = queries.closed_pnl(ctx.db, filters)
    return pd.DataFrame(rows, columns=["pnl_pct", "prediction_correct", "bot"])


def detail(ctx: Context, sample_id: int) -> dict[str, Any] | None:
    return get_sample(ctx.db, sample_id)


def export_csv(ctx: Context, filters: SampleFilter) -> bytes:
    result = list_samples(ctx.db, filters, limit=EXPORT_LIMIT, with_features=False)
    return pd.DataFrame(result.samples, columns=list(SAMPLE_FIELDS)).to_csv(index=False).encode()
