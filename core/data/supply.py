"""The engine's supply of bars: fetches into the store with a stale fallback, the demo set, and the
window of stored bars a labeling or training run works on (and `import_csv`, from `core.data.imports`).

Every stored series belongs to the provider that produced it. A refresh asks only that provider;
an imported series is used as stored (nobody can be asked for more of a trader's file). A series
with nothing stored yet is fetched from the configured provider (MARKET_DATA_PROVIDER).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pandas as pd

from core.context import Context
from core.data import store
from core.data.csv_stream import read_ohlcv_csv
from core.data.imports import import_csv
from core.data.precision import merge, precision_of
from core.data.providers import FetchedBars, FetchRequest, MarketDataProvider, make_provider
from core.data.providers.registry import ProviderInfo
from core.data.series_update import SeriesUpdate
from core.errors import BadInput, ProviderUnavailable
from core.timeframes import Timeframe, normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)

DEMO_SERIES: tuple[tuple[str, str], ...] = (("INFY.NS", "5m"), ("TCS.NS", "5m"), ("RELIANCE.NS", "5m"))
DEMO_CSV = (("GOOG", "1d", "GOOG_1d.csv"),)

__all__ = ["SeriesUpdate", "add_series", "import_csv", "load_window", "refresh_series", "seed_demo_series"]


def _default_lookback_days(tf: Timeframe) -> int:
    return tf.yahoo_max_days - 1 if tf.yahoo_max_days else 365 * 5


def _as_stored(before: store.SeriesSummary) -> SeriesUpdate:
    where = f" from {before.file_name}" if before.file_name else ""
    last = before.last.isoformat() if before.last else "never"
    message = f"{before.symbol} {before.timeframe} is imported{where}: used as stored (last bar {last})"
    return SeriesUpdate(before, 0, before.source or "csv", used_as_stored=True, message=message)


def _is_cached(before: store.SeriesSummary, prov: MarketDataProvider, now: datetime, minutes: float) -> bool:
    return bool(
        before.rows
        and before.last_fetched_at is not None
        and not before.stale
        and now - before.last_fetched_at < timedelta(minutes=minutes)
        and before.source in prov.sources
    )


def _window_start(
    stored: store.SeriesSummary | None,
    prov: MarketDataProvider,
    tf: Timeframe,
    now: datetime,
    days: float | None,
) -> datetime | None:
    """Incremental when the stored series already reaches back far enough: only the tail is new.

    `stored` is None when the stored bars are not this provider's (they will be replaced).
    """
    start = now - timedelta(days=days or _default_lookback_days(tf)) if prov.live else None
    if stored is not None and stored.rows and stored.first is not None and stored.last is not None:
        before = stored
        if start is None or before.first <= start:
            tail = before.last - 3 * tf.nominal
            return max(tail, start) if start else tail
    return start


def refresh_series(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    lookback_days: float | None = None,
    provider: str | None = None,
    bypass_cache: bool = False,
    now: datetime | None = None,
) -> SeriesUpdate:
    """Refresh a series from the provider that produces it (or from `provider`, when named).

    Naming another provider than the series' own replaces the series with that provider's bars.
    A provider that cannot be reached leaves the stored bars as they are and returns them flagged
    stale with a message; only when nothing is stored does the failure propagate.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe)
    if lookback_days is not None and lookback_days <= 0:
        raise BadInput("--lookback-days must be positive")
    with ctx.db.read() as session:
        before = store.summarize(session, symbol, tf.code)
    producer = before.producer
    if provider is None and producer is not None and not producer.refreshable:
        return _as_stored(before)
    name = provider or (producer.name if producer else ctx.settings.market_data_provider)
    prov = make_provider(name, ctx.settings)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    own = producer is None or producer.name == prov.name  # None with rows: a series of unknown origin
    if own and not bypass_cache and _is_cached(before, prov, now, ctx.settings.data_cache_minutes):
        return SeriesUpdate(before, 0, before.source or prov.name, cached=True)
    start = _window_start(before if own else None, prov, tf, now, lookback_days)
    try:
        fetched = prov.fetch(FetchRequest(symbol, tf, start, now))
    except ProviderUnavailable as exc:
        return _stale(ctx, before, prov, exc, mark=own)
    return _store_fetched(ctx, before, producer if not own else None, prov, fetched)


def _stale(
    ctx: Context,
    before: store.SeriesSummary,
    prov: MarketDataProvider,
    exc: ProviderUnavailable,
    *,
    mark: bool,
) -> SeriesUpdate:
    """The stored bars stand in; the series is flagged stale only when its own provider failed."""
    symbol, tf = before.symbol, before.timeframe
    if not before.rows:
        raise ProviderUnavailable(f"{exc}; no stored {symbol} {tf} bars to fall back on") from None
    summary = before
    if mark:
        with ctx.db.session() as session:
            source, synthetic = before.source or prov.name, before.is_synthetic
            store.mark_series(
                session, symbol, tf, source=source, is_synthetic=synthetic, stale=True, error=str(exc)
            )
            summary = store.summarize(session, symbol, tf)
    log.warning("market data for %s %s is stale: %s", symbol, tf, exc)
    return SeriesUpdate(summary, 0, summary.source or prov.name, stale=True, message=str(exc))


def _store_fetched(
    ctx: Context,
    before: store.SeriesSummary,
    replaced: ProviderInfo | None,
    prov: MarketDataProvider,
    fetched: FetchedBars,
) -> SeriesUpdate:
    symbol, tf = before.symbol, before.timeframe
    if fetched.bars.empty and (replaced is not None or not before.rows):  # refused before any write
        raise BadInput(f"{prov.name} returned no {tf} bars for {symbol}")
    origin = store.SeriesOrigin(prov.name, fetched.source, fetched.is_synthetic)
    precision = merge(None if replaced else before.precision, precision_of(fetched.bars))
    with ctx.db.session() as session:
        if replaced is not None:
            store.delete_bars(session, symbol, tf)
        written = store.upsert_bars(session, symbol, tf, fetched.bars, source=fetched.source)
        store.mark_origin(session, symbol, tf, origin, precision=precision, fetched=True)
    with ctx.db.read() as session:
        summary = store.summarize(session, symbol, tf)
    warnings = (f"replaced {before.rows:,} stored {symbol} {tf} bars ({replaced.title})",) if replaced else ()
    log.info("fetched %d bars of %s %s from %s", written, symbol, tf, fetched.source)
    return SeriesUpdate(summary, written, fetched.source, live=prov.live, warnings=warnings)


def add_series(
    ctx: Context, symbol: str, timeframe: str, *, lookback_days: float | None = None
) -> SeriesUpdate:
    """A symbol typed on the page: fetched from the configured provider (a stored one refreshes
    from its own). An unknown symbol is `BadInput` with the provider's explanation."""
    return refresh_series(ctx, symbol, timeframe, lookback_days=lookback_days)


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
) -> tuple[pd.DataFrame, SeriesUpdate | None]:
    """The bars a labeling or training run works on, optionally refreshed first.

    The refresh asks only the series' own provider; an imported series is used as stored. `end`
    limits the window to bars at or before it (training "as of" a past time, so the bars after it
    stay unseen for an honest replay). Raises `BadInput` when there are no bars, naming how to get
    some.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe)
    update = None
    if refresh:
        update = refresh_series(
            ctx, symbol, tf.code, lookback_days=lookback_days, bypass_cache=bypass_cache, now=now
        )
    with ctx.db.read() as session:
        bars = store.load_bars(session, symbol, tf.code, lookback_days=lookback_days, end=end)
    if bars.empty:
        pair = f"--symbol {symbol} --timeframe {tf.code}"
        raise BadInput(
            f"no stored bars for {symbol} {tf.code}; run `python -m core data fetch {pair}` "
            f"or `python -m core data import FILE {pair}`"
        )
    return bars, update


def seed_demo_series(ctx: Context, now: datetime | None = None) -> list[SeriesUpdate]:
    """Load the bundled real data and the synthetic demo series; safe to run repeatedly."""
    updates = []
    for symbol, tf, file in DEMO_CSV:
        with ctx.db.read() as session:
            existing = store.summarize(session, symbol, tf)
        if existing.rows:
            updates.append(SeriesUpdate(existing, 0, existing.source or "offline", cached=True))
            continue
        bars = read_ohlcv_csv(ctx.settings.bundled_data_dir / file)
        origin = store.SeriesOrigin("offline", "offline")
        with ctx.db.session() as session:
            written = store.upsert_bars(session, symbol, tf, bars, source="offline")
            store.mark_origin(session, symbol, tf, origin, precision=precision_of(bars), fetched=True)
            updates.append(SeriesUpdate(store.summarize(session, symbol, tf), written, "offline"))
    for symbol, tf in DEMO_SERIES:
        updates.append(refresh_series(ctx, symbol, tf, provider="offline", now=now))
    return updates
