"""Every stored series is a market: a refresh asks only its producer; imports are used as stored."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from core.cli.app import build_parser
from core.context import Context
from core.data import store, supply, uploads
from core.data.providers import PROVIDERS, fetch_provider_names, make_provider
from core.errors import BadInput
from core.views import market, prices
from tests.conftest import GOOG_CSV, make_settings
from tests.data.helpers import dump, hourly_fx, write_yahoo
from tests.support.servers import free_port

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def eurusd_csv(tmp_path: Path) -> Path:
    return write_yahoo(hourly_fx(2_000), tmp_path / "EURUSD_H1.csv")


# --- the registry -------------------------------------------------------------------------------
def test_every_fetch_provider_is_built_from_the_registry(settings) -> None:
    for name in fetch_provider_names():
        provider = make_provider(name, settings)
        info = PROVIDERS[name]
        assert (provider.name, provider.live, provider.sources) == (info.name, info.live, info.sources)
    assert not PROVIDERS["csv"].refreshable and "csv" not in fetch_provider_names()
    with pytest.raises(BadInput, match="use one of offline, yfinance"):
        make_provider("csv", settings)


def test_the_cli_choices_and_settings_read_the_registry(home: Path) -> None:
    fetch = build_parser()._subparsers._group_actions[0].choices["data"]  # type: ignore[union-attr]
    sub = fetch._subparsers._group_actions[0].choices["fetch"]
    choices = next(a.choices for a in sub._actions if a.dest == "provider")
    assert tuple(choices) == fetch_provider_names()
    ctx = Context.create(make_settings(home, market_data_provider=" YFinance "), logs=False)
    assert ctx.settings.market_data_provider == "yfinance"
    bad = Context.create(make_settings(home, market_data_provider="bloomberg"), logs=False)
    with pytest.raises(
        BadInput, match="unknown market data provider 'bloomberg'; use one of offline, yfinance"
    ):
        supply.refresh_series(bad, "MSFT", "1d")


# --- imported series are used as stored -----------------------------------------------------------
@pytest.mark.parametrize("provider", ["offline", "yfinance"])
def test_refreshing_an_imported_series_asks_nobody_and_writes_nothing(
    home: Path, eurusd_csv: Path, provider: str
) -> None:
    """The chart's quick training refreshes first; for an import that is the stored bars, unchanged."""
    settings = make_settings(
        home, market_data_provider=provider, yfinance_proxy=f"http://127.0.0.1:{free_port()}"
    )
    ctx = Context.create(settings, logs=False)
    supply.import_csv(ctx, eurusd_csv, "EURUSD", "1h")
    before = dump(home)
    bars, outcome = supply.load_window(ctx, "EURUSD", "1h", lookback_days=14, refresh=True, bypass_cache=True)
    assert outcome is not None and outcome.used_as_stored and not outcome.stale and outcome.written == 0
    assert "EURUSD_H1.csv" in (outcome.message or "") and not outcome.live
    assert bars.index[-1] == hourly_fx(2_000).index[-1] and len(bars) > 200
    assert supply.refresh_series(ctx, "EURUSD", "1h").used_as_stored
    assert dump(home) == before


def test_the_badge_says_imported_with_the_file_and_the_last_bar(ctx: Context, eurusd_csv: Path) -> None:
    supply.import_csv(ctx, eurusd_csv, "EURUSD", "1h")
    badge = market.data_badge(market.summary(ctx, "EURUSD", "1h"))
    last = hourly_fx(2_000).index[-1].strftime("%Y-%m-%d %H:%M UTC")
    assert badge.label == f"Imported · last bar {last}"
    assert "EURUSD_H1.csv" in badge.detail and last in badge.detail and "Yahoo-style" in badge.detail


def test_badges_for_synthetic_live_and_stale(ctx: Context) -> None:
    supply.refresh_series(ctx, "INFY.NS", "5m", now=NOW)
    assert market.data_badge(market.summary(ctx, "INFY.NS", "5m")).label == "Synthetic"
    bars = hourly_fx(50).rename(columns=str.lower).rename_axis("ts")
    with ctx.db.session() as session:
        store.upsert_bars(session, "EURUSD=X", "1h", bars, source="yfinance")
        store.mark_origin(
            session, "EURUSD=X", "1h", store.SeriesOrigin("yfinance", "yfinance"), precision=None
        )
    live = market.data_badge(market.summary(ctx, "EURUSD=X", "1h"))
    assert live.label == "Live" and "Yahoo Finance" in live.detail
    with ctx.db.session() as session:
        store.mark_series(
            session, "EURUSD=X", "1h", source="yfinance", stale=True, error="Yahoo could not be reached"
        )
    stale = market.data_badge(market.summary(ctx, "EURUSD=X", "1h"))
    assert stale.label.startswith("Stale · last bar ") and "Yahoo could not be reached" in stale.detail


def test_the_symbol_picker_lists_imported_series(ctx: Context, eurusd_csv: Path) -> None:
    supply.import_csv(ctx, eurusd_csv, "EURUSD", "1h")
    supply.refresh_series(ctx, "TCS.NS", "5m", now=NOW)
    pairs = {(s.symbol, s.timeframe): s for s in market.list_pairs(ctx)}
    assert set(pairs) == {("EURUSD", "1h"), ("TCS.NS", "5m")}
    assert pairs["EURUSD", "1h"].provider == "csv" and pairs["TCS.NS", "5m"].provider == "offline"
    assert market.pair_names(ctx) == [("EURUSD", "1h"), ("TCS.NS", "5m")]


# --- one series, one producer ---------------------------------------------------------------------
def test_an_import_onto_a_synthetic_series_replaces_it_and_a_second_file_extends_it(
    ctx: Context, tmp_path: Path
) -> None:
    supply.refresh_series(ctx, "INFY.NS", "1h", now=NOW)
    frame = hourly_fx(1_000, start="2026-01-05")
    first = supply.import_csv(ctx, write_yahoo(frame.iloc[:600], tmp_path / "a.csv"), "INFY.NS", "1h")
    assert (
        first.warnings and first.warnings[0].startswith("replaced ") and "Offline demo" in first.warnings[0]
    )
    assert first.summary.rows == 600 and not first.summary.is_synthetic and first.summary.provider == "csv"
    second = supply.import_csv(ctx, write_yahoo(frame.iloc[500:], tmp_path / "b.csv"), "INFY.NS", "1h")
    assert second.warnings == () and second.summary.rows == 1_000 and second.summary.file_name == "b.csv"


def test_an_explicit_fetch_from_the_offline_provider_replaces_an_import(ctx: Context, tmp_path: Path) -> None:
    frame = hourly_fx(300, start="2026-01-05")
    supply.import_csv(ctx, write_yahoo(frame, tmp_path / "tcs.csv"), "TCS.NS", "1h")
    outcome = supply.refresh_series(ctx, "TCS.NS", "1h", provider="offline", now=NOW)
    assert outcome.summary.is_synthetic and outcome.summary.provider == "offline"
    assert outcome.warnings and "Imported CSV" in outcome.warnings[0]
    with ctx.db.read() as session:
        stored = store.load_bars(session, "TCS.NS", "1h")
    assert not stored.index.isin(frame.index).any()  # no imported bar is left among synthetic ones


def test_imported_and_fetched_bars_share_one_time_format(ctx: Context, tmp_path: Path) -> None:
    """Rows staged by the importer and rows written by the ORM are the same rows, never twins."""
    bars = supply.refresh_series(ctx, "RELIANCE.NS", "5m", now=NOW - timedelta(days=300)).summary
    with ctx.db.read() as session:
        stored = store.load_bars(session, "RELIANCE.NS", "5m").iloc[:50]
    stored.index.name = "Datetime"
    with ctx.db.session() as session:
        store.delete_bars(session, "RELIANCE.NS", "5m")
        store.upsert_bars(session, "RELIANCE.NS", "5m", stored.rename_axis("ts"), source="synthetic")
    path = tmp_path / "rel.csv"
    stored.rename(columns=str.capitalize).to_csv(path, date_format="%Y-%m-%d %H:%M:%S")
    outcome = supply.import_csv(ctx, path, "RELIANCE.NS", "5m")
    assert bars.rows > 50 and outcome.summary.rows == 50


# --- names and prices -----------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", [".", "..", "../x", "A/B", "C:X", "-X", "X.", "^"])
def test_names_that_could_escape_are_refused(cli, home: Path, symbol: str) -> None:
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d").code == 0
    before = dump(home)
    run = cli("data", "import", GOOG_CSV, f"--symbol={symbol}", "--timeframe", "1d", "--json")
    assert run.code == 2 and "invalid symbol" in run.json()["error"]["message"]
    assert dump(home) == before


@pytest.mark.parametrize("symbol", ["EURUSD=X", "^GSPC", "BTC-USD", "RELIANCE.NS", "M&M.NS", "BRK-B"])
def test_real_tickers_are_accepted(ctx: Context, symbol: str) -> None:
    assert supply.import_csv(ctx, GOOG_CSV, symbol.lower(), "1d").summary.symbol == symbol


def test_prices_are_shown_at_the_series_precision(ctx: Context, tmp_path: Path) -> None:
    supply.import_csv(ctx, write_yahoo(hourly_fx(500), tmp_path / "fx.csv"), "EURUSD", "1h")
    jpy = hourly_fx(500).assign(
        **{c: lambda f, c=c: (f[c] * 137).round(3) for c in ("Open", "High", "Low", "Close")}
    )
    supply.import_csv(ctx, write_yahoo(jpy, tmp_path / "jpy.csv"), "USDJPY", "1h")
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    fx, yen, goog = (
        prices.price_format(ctx, s, t) for s, t in (("EURUSD", "1h"), ("USDJPY", "1h"), ("GOOG", "1d"))
    )
    assert (fx.decimals, yen.decimals, goog.decimals) == (5, 3, 2)
    assert fx(1.0912345) == "1.09123" and goog(4501.0639) == "4,501.06" and yen(151.2) == "151.200"
    assert fx.d3 == ",.5f" and goog.column_format == "%.2f"
    assert prices.format_price(None, 2) == "–" and prices.format_price(float("nan"), 5) == "–"
    assert prices.price_format(ctx, "NOPE", "1d").decimals == 2


def test_a_series_without_stored_precision_derives_it_from_its_bars(ctx: Context) -> None:
    bars = hourly_fx(300).rename(columns=str.lower).rename_axis("ts")
    with ctx.db.session() as session:  # as an older version stored it: no precision recorded
        store.upsert_bars(session, "EURUSD", "1h", bars, source="csv")
        store.mark_series(session, "EURUSD", "1h", source="csv")
    assert prices.price_format(ctx, "EURUSD", "1h").decimals == 5


# --- from the page ---------------------------------------------------------------------------------
def test_an_upload_is_previewed_and_imported_like_the_cli(ctx: Context, home: Path, eurusd_csv: Path) -> None:
    data = eurusd_csv.read_bytes()
    preview = uploads.preview_upload(ctx, io.BytesIO(data), "C:\\Users\\me\\EURUSD_H1.csv", rows=5)
    assert preview.format.name == "yahoo" and len(preview.bars) == 5
    assert preview.bars.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    outcome = uploads.import_upload(ctx, io.BytesIO(data), "C:\\Users\\me\\EURUSD_H1.csv", "EURUSD", "1h")
    assert outcome.summary.rows == 2_000 and outcome.summary.file_name == "EURUSD_H1.csv"
    before = dump(home)
    broken = data.replace(b"\n2024-01-03 05:00:00,", b"\n2024-01-03 05:00:00,oops", 1)
    assert broken != data
    with pytest.raises(
        BadInput, match=r"EURUSD_H1.csv: line \d+ \(2024-01-03T05:00:00\+00:00\) has a missing"
    ):
        uploads.import_upload(ctx, io.BytesIO(broken), "EURUSD_H1.csv", "EURUSD", "1h")
    assert dump(home) == before
    assert not list((home / "staging").iterdir())  # the spooled upload and staging files are gone


def test_adding_a_symbol_fetches_it_or_says_why_not(ctx: Context) -> None:
    added = supply.add_series(ctx, "tcs.ns", "1h")
    assert added.summary.rows > 100 and added.summary.provider == "offline"
    with pytest.raises(BadInput, match="unknown symbol 'NOPE' for the offline provider"):
        supply.add_series(ctx, "NOPE", "1d")
