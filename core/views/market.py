"""Chart data: the series an analyst can open, where its bars came from, the range presets, and
the indicators in the units a chart shows (from `compute_features`).

The candle chart takes its candles from `core.views.candles`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from core.context import Context
from core.data import store
from core.data.csv_layout import FORMATS
from core.data.store import SeriesSummary
from core.features.indicators import compute_features
from core.timeframes import TIMEFRAMES


@dataclass(frozen=True)
class DataBadge:
    """How trustworthy the bars on screen are, in one word and one sentence."""

    label: str
    tone: str  # a Streamlit badge colour: green, blue, violet, orange, red, gray
    detail: str


def list_pairs(ctx: Context) -> list[SeriesSummary]:
    """Every stored series, whatever produced it (imports, the demo, a provider): the symbol picker."""
    return store.list_series(ctx.db)


def pair_names(ctx: Context) -> list[tuple[str, str]]:
    """The same pairs without their counts: what a symbol picker needs, quick on millions of bars."""
    return store.list_pairs(ctx.db)


def summary(ctx: Context, symbol: str, timeframe: str) -> SeriesSummary:
    return store.read_summary(ctx.db, symbol, timeframe)


def _utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    return value.astimezone(UTC).strftime(fmt) if value else "never"


def _last_bar(s: SeriesSummary) -> str:
    """The newest bar's time as the badge says it: a date for daily bars and longer, else the minute."""
    intraday = s.timeframe in TIMEFRAMES and TIMEFRAMES[s.timeframe].intraday
    return _utc(s.last, "%Y-%m-%d %H:%M UTC" if intraday else "%Y-%m-%d")


def data_badge(s: SeriesSummary, now: datetime | None = None) -> DataBadge:
    """Synthetic beats everything (it must never pass for real data); then stale; then the producer."""
    if s.rows == 0:
        return DataBadge("No data", "red", "No bars stored for this pair yet.")
    fetched, last_bar = _utc(s.last_fetched_at), _utc(s.last)
    if s.is_synthetic:
        return DataBadge(
            "Synthetic",
            "violet",
            "Deterministic synthetic demo series: not real prices. Generated " + fetched,
        )
    if s.stale:
        why = f": {s.last_error}" if s.last_error else ""
        return DataBadge(
            f"Stale · last bar {_last_bar(s)}",
            "orange",
            f"The last refresh failed{why}. Showing stored bars up to {last_bar}.",
        )
    producer = s.producer
    if producer is not None and producer.live:
        return DataBadge("Live", "green", f"{producer.title}, last fetched {fetched}; last bar {last_bar}.")
    if producer is not None and not producer.refreshable:
        file = f" {s.file_name}" if s.file_name else " a CSV file"
        kind = f" ({FORMATS[s.import_format].title})" if s.import_format in FORMATS else ""
        return DataBadge(
            f"Imported · last bar {_last_bar(s)}",
            "blue",
            f"Imported from{file}{kind}; last bar {last_bar}. "
            "Used as stored: import a newer file to extend it.",
        )
    title = producer.title if producer is not None else (s.source or "unknown source")
    return DataBadge("Offline demo", "gray", f"{title}: bundled offline data; last bar {last_bar}.")


def plot_indicators(bars: pd.DataFrame) -> pd.DataFrame:
    """Indicators in the units a chart shows: prices for averages and bands, 0-100 RSI, MACD in %."""
    if bars.empty:
        return pd.DataFrame(index=bars.index)
    f = compute_features(bars)
    sma20 = f["sma_20"]
    half_band = f["bb_width"] * sma20 / 4.0 * 2.0  # bb_width = 4·std/sma, bands are ±2·std
    return pd.DataFrame(
        {
            "sma_20": sma20,
            "sma_50": bars["close"] / (1.0 + f["sma_dist_50"]),
            "bb_upper": sma20 + half_band,
            "bb_lower": sma20 - half_band,
            "rsi_14": f["rsi_14"] * 100.0,
            "macd_pct": f["macd"] * 100.0,
            "macd_signal_pct": f["macd_signal"] * 100.0,
            "macd_hist_pct": f["macd_hist"] * 100.0,
        },
        index=bars.index,
    )


# Date-range presets: (name, calendar span); "YTD" and "All" are computed from the series itself.
RANGE_SPANS: tuple[tuple[str, timedelta | None], ...] = (
    ("1D", timedelta(days=1)),
    ("1W", timedelta(days=7)),
    ("1M", timedelta(days=31)),
    ("3M", timedelta(days=92)),
    ("YTD", None),
    ("1Y", timedelta(days=366)),
    ("5Y", timedelta(days=5 * 366)),
)
ALL_RANGE = "All"
MIN_RANGE_BARS = 8  # a preset narrower than this many bars of the timeframe is not offered


def range_start(preset: str, last: datetime) -> datetime | None:
    """Where a preset begins, counted back from the newest bar (None: the whole history)."""
    if preset == "YTD":
        return datetime(last.year, 1, 1, tzinfo=UTC)
    span = dict(RANGE_SPANS).get(preset)
    return None if span is None else last - span


def range_presets(s: SeriesSummary) -> list[str]:
    """The presets that make sense for this series: wide enough for its bar size, inside its history."""
    if not s.rows or s.first is None or s.last is None or s.timeframe not in TIMEFRAMES:
        return [ALL_RANGE]
    nominal = TIMEFRAMES[s.timeframe].nominal
    out = []
    for name, span in RANGE_SPANS:
        start = range_start(name, s.last)
        assert start is not None
        wide = (span or (s.last - start)) / nominal >= MIN_RANGE_BARS
        if wide and start > s.first:
            out.append(name)
    return [*out, ALL_RANGE]
