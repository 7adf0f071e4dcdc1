"""Getting bars into the store: CSV import, provider fetches with a stale fallback, the demo set."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from core.context import Context
from core.data import store
from core.data.csv_import import read_ohlcv_csv
from core.data.providers import FetchRequest, make_provider
from core.errors import BadInput, ProviderUnavailable
from core.timeframes import Timeframe, normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)

DEMO_SERIES: tuple[tuple[str, str], ...] = (("INFY.NS", "5m"), ("TCS.NS", "5m"), ("RELIANCE.NS", "5m"))
DEMO_CSV = (("GOOG", "1d", "GOOG_1d.csv"),)


@dataclass(frozen=True)
class FetchOutcome:
    summary: store.SeriesSummary
    written: int
    source: str
    stale: bool = False  # the provider failed and the stored bars are what we have
    cached: bool = False  # fetched recently enough that the provider was not asked again
    message: str | None = None

    def as_json(self) -> dict[str, object]:
        out = self.summary.as_json()
        out.update(written=self.written, source=self.source, stale=self.stale, cached=self.cached)
        if self.message:
            out["message"] = self.message
        return out


def import_csv(ctx: Context, path: str | Path, symbol: str, timeframe: str) -> FetchOutcome:
    """Validate a CSV completely, then store it in one transaction (all rows or none)."""
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe)
    bars = read_ohlcv_csv(path)
    with ctx.db.session() as session:
        written = store.upsert_bars(session, symbol, tf.code, bars, source="csv")
        store.mark_series(session, symbol, tf.code, source="csv")
    with ctx.db.read() as session:
        summary = store.summarize(session, symbol, tf.code)
    log.info("imported %d bars of %s %s from %s", written, symbol, tf.code, Path(path).name)
    return FetchOutcome(summary, written, source="csv")


def _default_lookback_days(tf: Timeframe) -> int:
    return tf.yahoo_max_days - 1 if tf.yahoo_max_days else 365 * 5


def fetch(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    lookback_days: float | None = None,
    provider: str | None = None,
    bypass_cache: bool = False,
    now: datetime | None = None,
) -> FetchOutcome:
    """Refresh a series from a provider.

    Incremental when the store already covers the window. A provider that cannot be reached
    leaves the stored bars as they are, flags the series stale and returns them with a message;
    only when nothing is stored does the failure propagate.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe)
    if lookback_days is not None and lookback_days <= 0:
        raise BadInput("--lookback-days must be positive")
    source_name = provider or ctx.settings.market_data_provider
    prov = make_provider(source_name, ctx.settings)
    now = (now or datetime.now(UTC)).astimezone(UTC)

    with ctx.db.read() as session:
        before = store.summarize(session, symbol, tf.code)
    if (
        not bypass_cache
        and before.rows
        and before.last_fetched_at is not None
        and not before.stale
        and now - before.last_fetched_at < timedelta(minutes=ctx.settings.data_cache_minutes)
        and before.source in prov.sources
    ):
        return FetchOutcome(before, 0, before.source or source_name, cached=True)

    start: datetime | None = None
    if prov.live:
        start = now - timedelta(days=lookback_days or _default_lookback_days(tf))
    covered = before.rows and before.first is not None and before.last is not None
    if covered and (start is None or before.first <= start):
        # Only the tail is new when the stored series already reaches back far enough.
        start = max(before.last - 3 * tf.nominal, start) if start else before.last - 3 * tf.nominal
    try:
        fetched = prov.fetch(FetchRequest(symbol, tf, start, now))
    except ProviderUnavailable as exc:
        if not before.rows:
            raise ProviderUnavailable(f"{exc}; no stored {symbol} {tf.code} bars to fall back on") from None
        with ctx.db.session() as session:
            store.mark_series(
                session,
                symbol,
                tf.code,
                source=before.source or source_name,
                is_synthetic=before.is_synthetic,
                stale=True,
                error=str(exc),
            )
            summary = store.summarize(session, symbol, tf.code)
        log.warning("market data for %s %s is stale: %s", symbol, tf.code, exc)
        return FetchOutcome(summary, 0, summary.source or source_name, stale=True, message=str(exc))

    with ctx.db.session() as session:
        written = store.upsert_bars(session, symbol, tf.code, fetched.bars, source=fetched.source)
        store.mark_series(
            session, symbol, tf.code, source=fetched.source, is_synthetic=fetched.is_synthetic, fetched=True
        )
    with ctx.db.read() as session:
        summary = store.summarize(session, symbol, tf.code)
    if summary.rows == 0:
        raise BadInput(f"{prov.name} returned no {tf.code} bars for {symbol}")
    log.info("fetched %d bars of %s %s from %s", written, symbol, tf.code, fetched.source)
    return FetchOutcome(summary, written, fetched.source)


def load_window(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    lookback_days: float | None = None,
    refresh: bool = False,
    bypass_cache: bool = False,
    now: datetime | None = None,
    end: datetime | None = None,
) -> tuple[pd.DataFrame, FetchOutcome | None]:
    """The bars a labeling or training run works on, optionally refreshed from the provider first.

    `end` limits the window to bars at or before it (training "as of" a past time, so the bars
    after it stay unseen for an honest replay). Raises `BadInput` when there are no bars,
    naming how to get some.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe)
    outcome = None
    if refresh:
        outcome = fetch(ctx, symbol, tf.code, lookback_days=lookback_days, bypass_cache=bypass_cache, now=now)
    with ctx.db.read() as session:
        bars = store.load_bars(session, symbol, tf.code, lookback_days=lookback_days, end=end)
    if bars.empty:
        pair = f"--symbol {symbol} --timeframe {tf.code}"
        raise BadInput(
            f"no stored bars for {symbol} {tf.code}; run `python -m core data fetch {pair}` "
            f"or `python -m core data import FILE {pair}`"
        )
    return bars, outcome


def bootstrap_demo(ctx: Context, now: datetime | None = None) -> list[FetchOutcome]:
    """Load the bundled real data and the synthetic demo series; safe to run repeatedly."""
    outcomes = []
    for symbol, tf, file in DEMO_CSV:
        with ctx.db.read() as session:
            existing = store.summarize(session, symbol, tf)
        if existing.rows:
            outcomes.append(FetchOutcome(existing, 0, existing.source or "offline", cached=True))
            continue
        bars = read_ohlcv_csv(ctx.settings.bundled_data_dir / file)
        with ctx.db.session() as session:
            written = store.upsert_bars(session, symbol, tf, bars, source="offline")
            store.mark_series(session, symbol, tf, source="offline", fetched=True)
            outcomes.append(FetchOutcome(store.summarize(session, symbol, tf), written, "offline"))
    for symbol, tf in DEMO_SERIES:
        outcomes.append(fetch(ctx, symbol, tf, provider="offline", now=now))
    return outcomes
