"""Cached reads for the pages. Keys carry what makes the data change (the newest bar, the row count,
the active version ids), so a cache entry is never stale for long and never recomputed needlessly."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core.views import candles, market, models, overlays, prices
from core.views.candles import CandleSeries
from core.views.market import SeriesSummary
from core.views.overlays import ActiveSignal
from core.views.prices import PriceFormat
from dashboard.runtime import Runtime


def summary(db_url: str, symbol: str, timeframe: str, _rt: Runtime) -> SeriesSummary:
    """Not cached: one indexed aggregate, and the key of every cached read below."""
    return market.summary(_rt.ctx, symbol, timeframe)


@st.cache_data(ttl=600, max_entries=48, show_spinner=False)
def price_format(
    db_url: str, symbol: str, timeframe: str, rows: int, last: datetime | None, _rt: Runtime
) -> PriceFormat:
    """The series' precision (stored at import; derived from its bars for older series)."""
    return prices.price_format(_rt.ctx, symbol, timeframe)


def active_signature(db_url: str, symbol: str, timeframe: str, _rt: Runtime) -> tuple[int, ...]:
    """Not cached: it must change the moment a new model goes live, so the overlay follows at once."""
    return overlays.active_signature(_rt.ctx, symbol, timeframe)


@st.cache_data(ttl=900, max_entries=24, show_spinner="Computing the active models' signals…")
def signals(
    db_url: str, symbol: str, timeframe: str, versions: tuple[int, ...], last: datetime | None, _rt: Runtime
) -> tuple[list[ActiveSignal], str | None]:
    return overlays.signals(_rt.ctx, symbol, timeframe)


@st.cache_data(ttl=30, max_entries=24, show_spinner=False)
def paper_trades(db_url: str, symbol: str, timeframe: str, start: datetime, _rt: Runtime) -> pd.DataFrame:
    return overlays.paper_trades(_rt.ctx, symbol, timeframe, start)


@st.cache_data(ttl=30, max_entries=24, show_spinner=False)
def latest_label_set_id(db_url: str, symbol: str, timeframe: str, _rt: Runtime) -> int | None:
    return overlays.latest_label_set_id(_rt.ctx, symbol, timeframe)


@st.cache_data(ttl=120, max_entries=24, show_spinner=False)
def labels_in_window(
    db_url: str, label_set_id: int, start: datetime, end: datetime, _rt: Runtime
) -> pd.DataFrame:
    return overlays.labels_in_window(_rt.ctx, label_set_id, start, end)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def candle_series(
    db_url: str, symbol: str, timeframe: str, view: str, last: datetime | None, rows: int, _rt: Runtime
) -> CandleSeries:
    """The chart's candles at the viewed timeframe; a new bar (`last`, `rows`) makes a new entry."""
    return candles.candle_series(_rt.ctx, symbol, timeframe, view)


@st.cache_data(ttl=120, max_entries=24, show_spinner=False)
def version_names(
    db_url: str, symbol: str, timeframe: str, active: tuple[int, ...], _rt: Runtime
) -> dict[int, str]:
    """Version id -> "lstm_bot v1" for the pair, for the trades' hover text."""
    return models.version_labels(_rt.ctx, symbol, timeframe)
