"""Providers and the fetch service: synthetic determinism, idempotent storage, the stale fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.context import Context
from core.data import store, supply, synthetic
from core.data.csv_stream import read_ohlcv_csv
from core.data.frames import validate_ohlcv
from core.data.providers import FetchRequest, make_provider
from core.errors import BadInput, ProviderUnavailable
from core.timeframes import parse_timeframe
from tests.conftest import make_settings
from tests.support.servers import free_port

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday after the NSE close


def test_synthetic_series_are_deterministic_and_stable_as_time_moves_on() -> None:
    early = synthetic.generate("INFY.NS", "5m", None, NOW - timedelta(days=20))
    later = synthetic.generate("INFY.NS", "5m", None, NOW)
    assert len(later) > len(early) > 1000
    pd.testing.assert_frame_equal(later.loc[early.index], early)
    assert not synthetic.generate("TCS.NS", "5m", None, NOW)["close"].equals(later["close"])
    validate_ohlcv(later)


def test_synthetic_series_look_like_markets() -> None:
    bars = synthetic.generate("RELIANCE.NS", "5m", None, NOW)
    returns = np.log(bars["close"]).diff().dropna()
    abs_ret = returns.abs().to_numpy()
    # Volatility clustering: |r| is autocorrelated; fat tails: excess kurtosis well above 0.
    assert np.corrcoef(abs_ret[:-1], abs_ret[1:])[0, 1] > 0.05
    assert returns.kurt() > 1.0
    # One session is 75 five-minute bars, 09:15-15:30 IST; the first bar of a day trades most.
    day = bars[bars.index.normalize() == bars.index[-1].normalize()]
    assert len(day) == 75
    assert day.index[0].strftime("%H:%M") == "03:45" and day.index[-1].strftime("%H:%M") == "09:55"
    by_slot = bars["volume"].groupby(bars.index.strftime("%H:%M")).median()
    assert by_slot.iloc[0] > by_slot.iloc[len(by_slot) // 2]


def test_only_closed_bars_are_generated() -> None:
    now = datetime(2026, 3, 2, 3, 53, tzinfo=UTC)  # 3 minutes into the second 5m bar of the day
    bars = synthetic.generate("INFY.NS", "5m", None, now)
    assert bars.index[-1] == pd.Timestamp("2026-03-02 03:45", tz="UTC")
    hourly = synthetic.generate("INFY.NS", "1h", None, now)
    assert hourly.index[-1] < pd.Timestamp("2026-03-02", tz="UTC")  # today's first hour is still open


def test_offline_fetch_is_incremental_and_idempotent(ctx: Context) -> None:
    first = supply.refresh_series(ctx, "INFY.NS", "5m", now=NOW - timedelta(days=3))
    assert first.summary.is_synthetic and first.source == "synthetic"
    again = supply.refresh_series(ctx, "INFY.NS", "5m", now=NOW - timedelta(days=3), bypass_cache=True)
    assert again.summary.rows == first.summary.rows
    assert again.written < 10  # only the tail is asked for again
    later = supply.refresh_series(ctx, "INFY.NS", "5m", now=NOW, bypass_cache=True)
    assert later.summary.rows > first.summary.rows
    with ctx.db.read() as session:
        stored = store.load_bars(session, "INFY.NS", "5m")
    pd.testing.assert_frame_equal(stored, synthetic.generate("INFY.NS", "5m", None, NOW), check_freq=False)


def test_recent_fetch_is_served_from_the_store_unless_bypassed(ctx: Context) -> None:
    supply.refresh_series(ctx, "TCS.NS", "5m", now=NOW)
    cached = supply.refresh_series(ctx, "TCS.NS", "5m", now=datetime.now(UTC))
    assert cached.cached and cached.written == 0
    fresh = supply.refresh_series(ctx, "TCS.NS", "5m", now=NOW, bypass_cache=True)
    assert not fresh.cached


def test_lookback_counts_back_from_the_newest_stored_bar(goog_ctx: Context) -> None:
    bars, _ = supply.load_window(goog_ctx, "GOOG", "1d", lookback_days=30)
    assert bars.index[-1] == pd.Timestamp("2013-03-01", tz="UTC")
    assert bars.index[0] >= pd.Timestamp("2013-01-30", tz="UTC")
    assert 15 <= len(bars) <= 23


def test_load_window_without_bars_says_how_to_get_some(ctx: Context) -> None:
    with pytest.raises(BadInput, match="python -m core data fetch --symbol MSFT"):
        supply.load_window(ctx, "MSFT", "1d")


def _store_as_yahoo(ctx: Context, csv) -> None:  # type: ignore[no-untyped-def]
    """A series Yahoo produced (fetched earlier), written the way a fetch writes it."""
    bars = read_ohlcv_csv(csv)
    with ctx.db.session() as session:
        store.upsert_bars(session, "GOOG", "1d", bars, source="yfinance")
        store.mark_origin(session, "GOOG", "1d", store.SeriesOrigin("yfinance", "yfinance"), precision=None)


def test_network_failure_falls_back_to_stored_bars_flagged_stale(home, goog_csv) -> None:
    settings = make_settings(home, yfinance_proxy=f"http://127.0.0.1:{free_port()}")
    ctx = Context.create(settings, logs=False)
    _store_as_yahoo(ctx, goog_csv)
    outcome = supply.refresh_series(ctx, "GOOG", "1d", bypass_cache=True)  # asks its own provider: Yahoo
    assert outcome.stale and outcome.summary.rows == 2148
    assert "could not be reached" in (outcome.message or "")
    with ctx.db.read() as session:
        assert store.summarize(session, "GOOG", "1d").stale
    bars, refreshed = supply.load_window(ctx, "GOOG", "1d", refresh=True, bypass_cache=True)
    assert refreshed is not None and refreshed.stale and len(bars) == 2148
    with pytest.raises(ProviderUnavailable, match="no stored MSFT 1d bars"):
        supply.refresh_series(ctx, "MSFT", "1d", provider="yfinance")


def test_another_provider_failing_does_not_flag_an_imported_series(home, goog_csv) -> None:
    """Asking Yahoo for a series a CSV produced fails softly; the import stays as it was, not stale."""
    settings = make_settings(home, yfinance_proxy=f"http://127.0.0.1:{free_port()}")
    ctx = Context.create(settings, logs=False)
    supply.import_csv(ctx, goog_csv, "GOOG", "1d")
    outcome = supply.refresh_series(ctx, "GOOG", "1d", provider="yfinance", bypass_cache=True)
    assert outcome.stale and outcome.summary.rows == 2148
    with ctx.db.read() as session:
        stored = store.summarize(session, "GOOG", "1d")
    assert not stored.stale and stored.provider == "csv" and stored.rows == 2148


def test_yahoo_intraday_limits_are_explained(home) -> None:
    provider = make_provider("yfinance", make_settings(home))
    tf = parse_timeframe("5m")
    request = FetchRequest("INFY.NS", tf, datetime.now(UTC) - timedelta(days=90), datetime.now(UTC))
    with pytest.raises(BadInput, match="only for the last 60 days"):
        provider.fetch(request)


def test_offline_provider_names_what_it_knows(home) -> None:
    provider = make_provider("offline", make_settings(home))
    with pytest.raises(BadInput, match="has GOOG only on"):
        provider.fetch(FetchRequest("GOOG", parse_timeframe("5m"), None, NOW))
    weekly = provider.fetch(FetchRequest("GOOG", parse_timeframe("1wk"), None, NOW)).bars
    assert 400 < len(weekly) < 460


def test_bootstrap_is_idempotent(ctx: Context) -> None:
    first = supply.seed_demo_series(ctx, now=NOW)
    second = supply.seed_demo_series(ctx, now=NOW)
    assert [o.summary.rows for o in first] == [o.summary.rows for o in second]
    assert {o.summary.symbol for o in first} == {"GOOG", "INFY.NS", "TCS.NS", "RELIANCE.NS"}


def test_a_recent_fetch_from_another_provider_is_not_reused(home) -> None:
    """Synthetic bars fetched a minute ago are no cache for a Yahoo request: Yahoo is asked."""
    settings = make_settings(home, yfinance_proxy=f"http://127.0.0.1:{free_port()}")
    ctx = Context.create(settings, logs=False)
    supply.refresh_series(ctx, "INFY.NS", "5m", provider="offline")
    assert supply.refresh_series(ctx, "INFY.NS", "5m", provider="offline").cached
    yahoo = supply.refresh_series(ctx, "INFY.NS", "5m", provider="yfinance", lookback_days=30)
    assert not yahoo.cached and yahoo.stale  # it tried Yahoo (unreachable) and kept the stored bars
