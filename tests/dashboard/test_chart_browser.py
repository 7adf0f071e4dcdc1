"""The candle chart in headless Chromium, one app server for the module: its data arrives whole,
compact and once (a rerun re-sends nothing), the crosshair, wheel, drag and keyboard work, a zoom
survives toggling indicators and overlays, a 5m series viewed as 1h shows exact OHLCV (also from
a link, and as 4h from a link with a range), FX prices read at 5 decimals in the hover and on the
axis, and the toolbar, price pane, volume and time axis fit above the fold at 1440 and 1024 px.
The time axis names month and year starts (intraday: day starts) at every zoom, and no toast covers
Retrain now: the progress line says why training started.
Also: with the internet blocked no page asks for anything outside, and the audit log exports as CSV.

Screenshots land in `artifacts/screenshots/` (gitignored) for a human look.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import update

from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.db.database import forget_database
from core.db.models import AIModelVersion
from core.db.types import utcnow
from core.jobs import store as job_store
from core.views.candles import OPENING_CANDLES, resample
from core.views.market import plot_indicators
from tests.conftest import REPO, make_settings
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import (
    CHART,
    browser,
    chart_state,
    require_chromium,
    serve,
    wait_for_chart,
    wait_ready,
)
from tests.dashboard.markets import GBPUSD_MT5, tradingview_csv
from tests.dashboard.tables import clipped_controls
from tests.data.helpers import fx_bars

SHOTS = REPO / "artifacts" / "screenshots"
LONG_BARS = 10_000  # a series longer than a chart opens with (OPENING_CANDLES)
FIVE = re.compile(r"\d\.\d{5}")
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def fx_5m(n: int, seed: int = 11) -> pd.DataFrame:
    """USDCHF-like 5-minute bars on weekdays, 5 decimals."""
    return fx_bars(n, freq="5min", start="2024-03-04", price=0.89, sd=0.0004, seed=seed, pad=600)


def btc_1h(n: int) -> pd.DataFrame:
    """BTCUSD-like hourly bars at cents around 60,000: more digits than float32 holds."""
    bars = fx_bars(n, freq="1h", start="2024-03-04", price=60_000.0, sd=0.004, seed=5, pad=400)
    return bars.assign(**{c: bars[c].round(2) for c in ("Open", "High", "Low", "Close")})


@dataclass
class App:
    url: str
    chrome: Any
    ctx: Context


@pytest.fixture(scope="module")
def app(markets_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The own-markets home (EURUSD 1h with a live model, trades and labels) plus USDCHF 5m."""
    executable = require_chromium()
    home = tmp_path_factory.mktemp("chart_browser") / "home"
    shutil.copytree(markets_template, home)
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = Context.create(make_settings(home), logs=False)
    files = tmp_path_factory.mktemp("chart_files")
    supply.import_csv(ctx, tradingview_csv(fx_5m(3_000), files / "FX_USDCHF, 5.csv"), "USDCHF", "5m")
    supply.import_csv(ctx, tradingview_csv(btc_1h(2_000), files / "BTCUSD, 60.csv"), "BTCUSD", "1h")
    long = fx_5m(LONG_BARS, seed=3)
    supply.import_csv(ctx, tradingview_csv(long, files / "FX_NZDUSD, 5.csv"), "NZDUSD", "5m")
    env = {**QUICK_ENV, "PROMOTION_MIN_EFFECTIVE": "1000000"}
    try:
        with serve(home, env) as url, browser(executable) as chrome:
            yield App(url, chrome, ctx)
    finally:
        forget_database(make_settings(home).db_url)


def _open(
    app: App, query: str, width: int = 1440, height: int = 900, frames: list[bytes] | None = None
) -> Any:
    """A new tab on the app, once its chart is drawn; `frames` collects what the websocket receives."""
    page = app.chrome.new_page(viewport={"width": width, "height": height})
    if frames is not None:
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode())
            ),
        )
    page.goto(f"{app.url}/{query}")
    wait_ready(page)
    wait_for_chart(page)
    return page


def _stored(app: App, symbol: str, timeframe: str) -> pd.DataFrame:
    with app.ctx.db.read() as session:
        return bar_store.load_bars(session, symbol, timeframe)


def _plot_box(page: Any) -> dict[str, float]:
    """The price pane's drawing area (the first canvas cell of the chart's table layout)."""
    box = page.locator(f"{CHART} table tr td:nth-child(2)").first.bounding_box()
    assert box is not None
    return box


def _hover(page: Any, fraction: float) -> list[str]:
    box = _plot_box(page)
    page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(100)
    return chart_state(page)["legend"].splitlines()


def test_the_chart_gets_every_bar_once_and_its_crosshair_wheel_drag_and_keys_work(app: App) -> None:
    page = _open(app, "?symbol=EURUSD&tf=1h")
    stored = _stored(app, "EURUSD", "1h")
    state = chart_state(page)
    assert state["candles"] == len(stored) and state["decimals"] == 5
    # The linked window (the newest 1,000 candles) is in view; the rest is there to scroll back to.
    assert state["to"] - state["from"] == pytest.approx(1_000 - 1 + 5, abs=1)
    crosshair = page.locator(CHART).evaluate("b => b.getRootNode().__candleChart.chart.options().crosshair")
    assert crosshair["mode"] == 0 and crosshair["vertLine"]["visible"] and crosshair["horzLine"]["visible"]
    # The hover names the bar's time and its prices at 5 decimals, exactly as stored.
    when, prices = _hover(page, 0.5)[:2]
    stamp = pd.Timestamp(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", when).group(0), tz="UTC")  # type: ignore[union-attr]
    bar = stored.loc[stamp]
    expected = "  ".join(
        f"{k} {bar[c]:.5f}" for k, c in zip("OHLC", ("open", "high", "low", "close"), strict=True)
    )
    assert prices.startswith(expected), (prices, expected)
    axis = page.locator(CHART).evaluate(
        "b => b.getRootNode().__candleChart.series.candles.priceFormatter().format(1.1)"
    )
    assert axis == "1.10000"
    page.screenshot(path=str(SHOTS / "chart_1_fx_hover.png"))

    before = chart_state(page)
    box = _plot_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    for _ in range(4):  # zoom in
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(80)
    page.wait_for_timeout(200)
    zoomed = chart_state(page)
    assert zoomed["to"] - zoomed["from"] < 0.9 * (before["to"] - before["from"])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    page.wait_for_timeout(200)
    panned = chart_state(page)
    assert panned["from"] < zoomed["from"] - 1  # dragged right: earlier bars come into view
    page.locator(CHART).focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(100)
    keyed = chart_state(page)
    assert keyed["from"] > panned["from"]
    page.keyboard.press("-")
    page.wait_for_timeout(100)
    wider = chart_state(page)
    assert wider["to"] - wider["from"] > keyed["to"] - keyed["from"]
    page.close()


def test_a_zoom_survives_toggling_indicators_overlays_and_the_log_scale(app: App) -> None:
    frames: list[bytes] = []
    page = _open(app, "?symbol=EURUSD&tf=1h", frames=frames)
    assert any(b"candlelab_chart" in f for f in frames)  # the candles, once
    box = _plot_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    for _ in range(4):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(80)
    page.wait_for_timeout(200)
    zoom = chart_state(page)
    assert zoom["panes"] == 2  # price and volume
    for button, panes in (("RSI 14", 3), ("MACD", 4), ("Bollinger 20", 4), ("Labels", 4), ("Log", 4)):
        page.locator(".cl-toolbar button", has_text=button).first.click()
        page.wait_for_timeout(150)
        state = chart_state(page)
        assert state["panes"] == panes, button
        assert (state["from"], state["to"]) == pytest.approx((zoom["from"], zoom["to"]), abs=1e-6), button
    assert {"RSI 14", "MACD", "Bollinger 20"} <= set(state["view"]["indicators"])
    page.screenshot(path=str(SHOTS / "chart_2_indicators.png"))
    # The view is reported back: a range preset lands in the link, and the page's rerun re-sends nothing.
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode())),
    )
    page.locator(".cl-toolbar button", has_text="1W").first.click()
    page.wait_for_url(re.compile(r"range=1W"), timeout=15_000)
    wait_ready(page)
    assert not any(b"candlelab_chart" in f for f in frames), "the candles were sent again"
    after = chart_state(page)
    assert after["key"] == zoom["key"] and after["panes"] == 4  # same data, toggles kept
    first = pd.Timestamp(
        page.locator(CHART).evaluate(
            "b => { const c = b.getRootNode().__candleChart;"
            " return c.times[Math.ceil(c.chart.timeScale().getVisibleLogicalRange().from)]; }"
        ),
        unit="s",
        tz="UTC",
    )
    newest = _stored(app, "EURUSD", "1h").index[-1]
    assert newest - timedelta(days=7) <= first <= newest - timedelta(days=6)
    page.close()


def _visible(page: Any) -> tuple[int, int]:
    """The times of the first and last candle in view."""
    return tuple(  # type: ignore[return-value]
        page.locator(CHART).evaluate(
            "b => { const r = b.getRootNode().__candleChart.chart.timeScale().getVisibleRange();"
            " return [r.from, r.to]; }"
        )
    )


def test_a_long_series_opens_with_its_newest_candles_and_loads_history_as_it_scrolls_back(app: App) -> None:
    frames: list[bytes] = []
    page = _open(app, "?symbol=NZDUSD&tf=5m", frames=frames)
    stored = _stored(app, "NZDUSD", "5m")
    times = stored.index.as_unit("s").asi8
    state = chart_state(page)
    held = OPENING_CANDLES
    assert len(stored) == LONG_BARS and state["candles"] == held
    assert int(page.locator(CHART).get_attribute("data-total") or 0) == LONG_BARS
    assert state["to"] - state["from"] == pytest.approx(1_000 - 1 + 5, abs=1)  # the newest 1,000 in view
    (message,) = [f for f in frames if b"candlelab_chart" in f]
    assert len(message) < 40 * held + 300_000  # the held candles (and the chart's code), not all 10,000
    # Home scrolls to the oldest candle held: the page sends twice as many, prepended in place.
    page.locator(CHART).focus()
    page.keyboard.press("Home")
    wait_for_chart(page, min_candles=2 * held, exact=True)
    first, _ = _visible(page)
    assert abs(first - times[-held]) <= 300  # the same candles in view, within one 5-minute bar
    sma = page.locator(CHART).evaluate("b => b.getRootNode().__candleChart.series.sma20.data().length")
    assert sma == 2 * held - 19  # indicators recomputed over the longer closes
    sent = _sent(page)
    expected = stored.iloc[-2 * held :]
    assert (sent.index.as_unit("s").asi8 == expected.index.as_unit("s").asi8).all()
    assert sent["close"].to_numpy() == pytest.approx(expected["close"].to_numpy(), abs=5e-6)
    # A range reaching further back than the candles held brings the rest, then shows exactly it.
    wait_ready(page)
    page.locator(".cl-toolbar button", has_text="All").first.click()
    wait_for_chart(page, min_candles=LONG_BARS, exact=True)
    page.wait_for_url(re.compile(r"range=All"), timeout=15_000)
    first, last = _visible(page)
    assert (first, last) == (times[0], times[-1])
    assert "Loading earlier history" not in chart_state(page)["legend"]
    page.close()


def test_the_labels_pages_charts_keep_their_own_view_apart_from_the_chart(app: App) -> None:
    page = _open(app, "?symbol=EURUSD&tf=1h")
    assert chart_state(page)["view"]["overlays"] == ["Signals", "Paper trades"]
    page.goto(f"{app.url}/labels?symbol=EURUSD&tf=1h")  # the same tab: its session storage kept
    wait_ready(page)
    wait_for_chart(page)
    page.locator(".cl-toolbar button", has_text="Paper trades").first.click()
    page.locator(".cl-toolbar button", has_text="RSI 14").first.click()
    assert set(chart_state(page)["view"]["overlays"]) == {"Paper trades", "Labels"}
    page.wait_for_timeout(500)  # the view is kept once the analyst pauses
    page.goto(f"{app.url}/?symbol=EURUSD&tf=1h")
    wait_ready(page)
    wait_for_chart(page)
    view = chart_state(page)["view"]
    assert view["overlays"] == ["Signals", "Paper trades"] and "RSI 14" not in view["indicators"]
    page.close()


def _sent(page: Any) -> pd.DataFrame:
    cols = page.locator(CHART).evaluate(
        """b => { const c = b.getRootNode().__candleChart;
            return { t: Array.from(c.times), open: Array.from(c.cols.open), high: Array.from(c.cols.high),
                     low: Array.from(c.cols.low), close: Array.from(c.cols.close),
                     volume: Array.from(c.cols.volume) }; }"""
    )
    frame = pd.DataFrame(cols)
    frame.index = pd.to_datetime(frame.pop("t"), unit="s", utc=True)
    return frame


INDICATOR_COLUMNS = (
    "sma_20",
    "sma_50",
    "bb_upper",
    "bb_lower",
    "rsi_14",
    "macd_pct",
    "macd_signal_pct",
    "macd_hist_pct",
)


def test_the_browser_computes_the_indicators_the_server_would_and_none_travel(app: App) -> None:
    frames: list[bytes] = []
    page = _open(app, "?symbol=EURUSD&tf=1h", frames=frames)
    assert any(b"candlelab_chart" in f for f in frames), "the chart's message was not seen"
    # The candles travel alone: no indicator column comes with them.
    received = page.locator(CHART).get_attribute("data-received")
    assert received == "candles,meta:t,open,high,low,close,volume", received
    # Every indicator, drawn from the closes the browser holds, equals the server's formula
    # (core.features.indicators) on those same bars.
    sent = _sent(page)
    expected = plot_indicators(sent.astype("float64"))
    computed = page.locator(CHART).evaluate(
        """(b, names) => { const c = b.getRootNode().__candleChart;
            const values = (n) => Array.from(c.ind.get(n), (v) => (Number.isFinite(v) ? v : null));
            return Object.fromEntries(names.map((n) => [n, values(n)])); }""",
        list(INDICATOR_COLUMNS),
    )
    for name in INDICATOR_COLUMNS:
        got = pd.Series(computed[name], index=sent.index, dtype="float64")
        want = expected[name]
        assert (got.isna() == want.isna()).all(), name  # the same warm-up
        scale = float(want.abs().max())
        assert (got - want).abs().max() <= 1e-9 * max(scale, 1.0), name
    # Shown, SMA 20 is that column, at the series' 5 decimals on the price axis.
    if "SMA 20" not in chart_state(page)["view"]["indicators"]:
        page.locator(".cl-toolbar button", has_text="SMA 20").first.click()
        page.wait_for_timeout(150)
    line = page.locator(CHART).evaluate(
        """b => { const s = b.getRootNode().__candleChart.series.sma20;
            const data = s.data();
            return { n: data.length, last: data.at(-1).value, axis: s.priceFormatter().format(1.1) }; }"""
    )
    assert line["n"] == int(expected["sma_20"].notna().sum())
    assert line["last"] == pytest.approx(float(expected["sma_20"].iloc[-1]), abs=1e-9)
    assert line["axis"] == "1.10000"
    page.close()


def test_high_prices_travel_as_ticks_and_read_exactly_at_their_cents(app: App) -> None:
    page = _open(app, "?symbol=BTCUSD&tf=1h")
    state = chart_state(page)
    assert state["decimals"] == 2
    tick = page.locator(CHART).evaluate("b => b.getRootNode().__candleChart.meta.tick_prices")
    assert tick is True  # 60,000.12 has 7 digits: float32 would round the cents
    stored, sent = _stored(app, "BTCUSD", "1h"), _sent(page)
    for column in ("open", "high", "low", "close"):
        assert (sent[column].to_numpy() == stored[column].to_numpy()).all(), column
    when, prices = _hover(page, 0.5)[:2]
    stamp = pd.Timestamp(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", when).group(0), tz="UTC")  # type: ignore[union-attr]
    bar = stored.loc[stamp]
    assert prices.startswith(f"O {bar['open']:,.2f}  H {bar['high']:,.2f}"), prices
    page.close()


def test_a_5m_series_viewed_as_1h_shows_exact_ohlcv_also_from_a_link(app: App) -> None:
    page = _open(app, "?symbol=USDCHF&tf=5m")
    # The pair's quick training runs meanwhile, and its progress rerun can close an open list: open
    # the "View as" list again until the option shows.
    box = page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first
    option = page.get_by_role("option", name="1h (from 5m)")
    for _ in range(10):
        box.click()
        try:
            option.wait_for(timeout=3_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()
    page.wait_for_url(re.compile(r"tf=1h"), timeout=15_000)
    page.wait_for_function("() => true")
    for _ in range(100):
        if "|5m|1h|" in chart_state(page)["key"]:
            break
        page.wait_for_timeout(100)
    expected = resample(_stored(app, "USDCHF", "5m"), timedelta(hours=1))
    sent = _sent(page)
    assert len(sent) == len(expected) and (sent.index == expected.index).all()
    for column in ("open", "high", "low", "close"):
        assert (sent[column].round(5).to_numpy() == expected[column].round(5).to_numpy()).all(), column
    assert (sent["volume"].to_numpy() == expected["volume"].to_numpy()).all()
    # The hover of one 1h candle reads the merged bar: first open, highest high, lowest low, last close.
    when, prices = _hover(page, 0.5)[:2]
    stamp = pd.Timestamp(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", when).group(0), tz="UTC")  # type: ignore[union-attr]
    assert stamp.minute == 0
    bar = expected.loc[stamp]
    assert prices.startswith(
        f"O {bar['open']:.5f}  H {bar['high']:.5f}  L {bar['low']:.5f}  C {bar['close']:.5f}"
    )
    page.close()

    linked = _open(app, "?symbol=USDCHF&tf=1h")  # only 5m is stored: the link opens it resampled
    for _ in range(100):
        if "|5m|1h|" in chart_state(linked)["key"]:
            break
        linked.wait_for_timeout(100)
    assert len(_sent(linked)) == len(expected)
    assert "tf=1h" in linked.url
    linked.close()


def test_a_link_to_4h_of_5m_bars_opens_resampled_at_the_linked_range(app: App) -> None:
    page = _open(app, "?symbol=USDCHF&tf=4h&range=1W")
    for _ in range(100):
        if "|5m|4h|" in chart_state(page)["key"]:
            break
        page.wait_for_timeout(100)
    expected = resample(_stored(app, "USDCHF", "5m"), timedelta(hours=4))
    sent = _sent(page)
    assert len(sent) == len(expected) and (sent.index == expected.index).all()
    assert (sent["high"].round(5).to_numpy() == expected["high"].round(5).to_numpy()).all()
    assert "tf=4h" in page.url and "range=1W" in page.url
    assert page.locator("[data-testid='stAlert']", has_text="link").count() == 0
    assert not clipped_controls(page)  # "4h (from 5m)" reads whole in the toolbar
    state = chart_state(page)
    first = pd.Timestamp(
        int(
            page.locator(CHART).evaluate(
                "b => { const c = b.getRootNode().__candleChart;"
                " return c.times[Math.ceil(c.chart.timeScale().getVisibleLogicalRange().from)]; }"
            )
        ),
        unit="s",
        tz="UTC",
    )
    assert state["view"]["range"] == "1W"
    assert expected.index[-1] - timedelta(days=7, hours=4) <= first <= expected.index[-1] - timedelta(days=6)
    page.close()


@pytest.mark.parametrize("size", [(1440, 900), (1024, 768)])
def test_price_volume_and_time_axis_fit_above_the_fold(app: App, size: tuple[int, int]) -> None:
    width, height = size
    page = _open(app, "?symbol=EURUSD&tf=1h", width, height)
    page.wait_for_timeout(500)
    chart = page.locator(CHART).bounding_box()
    assert chart is not None and chart["y"] + chart["height"] <= height, chart
    assert chart["height"] >= 340
    main = page.locator("[data-testid='stMain']").bounding_box()
    controls = [
        *(
            page.locator(".cl-toolbar button").nth(i)
            for i in range(page.locator(".cl-toolbar button").count())
        ),
        page.get_by_role("button", name="Retrain now"),
        page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first,
    ]
    for control in controls:  # the whole toolbar is on screen, none of it cut off
        box = control.bounding_box()
        assert box is not None and box["x"] + box["width"] <= main["x"] + main["width"], control
        assert box["y"] + box["height"] <= chart["y"] + 1, control
    page.screenshot(path=str(SHOTS / f"chart_3_fold_{width}.png"))
    page.close()


PAGES = (  # each navigation entry and the heading its page draws
    ("Data", "^Data$"),
    ("Labels", "^Labels · "),
    ("Models", "^Models · "),
    ("Experiments", "^Experiments$"),
    ("Samples", "^Training samples$"),
    ("Training", "^Training$"),
    ("Audit", "^Audit log$"),
    ("Access", "^Access$"),
    ("Chart", "^EURUSD$"),
)


def test_with_the_internet_blocked_every_page_looks_the_same_and_asks_for_nothing_outside(app: App) -> None:
    context = app.chrome.new_context(viewport={"width": 1440, "height": 900})
    outside: list[str] = []
    failed: list[str] = []

    def block(route: Any) -> None:
        url = route.request.url
        if url.startswith(app.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", block)
    page = context.new_page()
    page.on("console", lambda m: failed.append(m.text) if "Failed to load resource" in m.text else None)
    page.goto(f"{app.url}/?symbol=EURUSD&tf=1h")
    wait_ready(page)
    wait_for_chart(page)
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    for name, heading in PAGES:  # every page of the navigation, as an admin sees it
        page.get_by_role("link", name=name, exact=True).click()
        page.get_by_role("heading", name=re.compile(heading)).first.wait_for()
        wait_ready(page)
    nav = page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
    assert sorted(n.split()[-1] for n in nav) == sorted(name for name, _ in PAGES)  # (after the icon)
    # The navigation's icons come from the bundled icon font: drawn, not shown as their names.
    icon = page.locator("[data-testid='stSidebarNav'] [data-testid='stIconMaterial']").first
    assert icon.bounding_box()["width"] < 40  # type: ignore[index]
    page.wait_for_timeout(500)
    assert outside == [] and failed == [], (outside, failed)
    context.close()


def test_the_audit_log_exports_as_csv(app: App) -> None:
    page = app.chrome.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{app.url}/audit")
    wait_ready(page)
    page.get_by_role("heading", name="Audit log").first.wait_for()
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    lines = text.splitlines()
    assert lines[0].split(",")[:5] == ["id", "created_at", "actor", "actor_kind", "action"], lines[:2]
    assert len(lines) > 1, text  # the home's own history (its training, its activation) is on record
    page.close()


RETRAIN_NOW_COVER = """() => {
    const button = [...document.querySelectorAll("[data-testid='stMain'] button")]
        .find((b) => b.innerText.includes("Retrain now"));
    const r = button.getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    const shown = (b) => b.width > 0 && b.height > 0 && b.bottom > 0 && b.top < innerHeight
        && b.right > 0 && b.left < innerWidth;
    const toasts = [...document.querySelectorAll("[data-testid='stToast']")]
        .map((t) => ({ box: t.getBoundingClientRect(), text: t.innerText }))
        .filter(({ box }) => shown(box));
    const meets = (b) => b.left < r.right && r.left < b.right && b.top < r.bottom && r.top < b.bottom;
    return {
        clickable: button.contains(hit),
        covering: toasts.filter((t) => meets(t.box)).map((t) => t.text),
        toasts: toasts.map((t) => t.text),
    };
}"""


def _retrain_now_free(page: Any, toast: bool = False) -> None:
    """No toast covers Retrain now and a click at its centre reaches it (`toast`: one is shown)."""
    if toast:
        page.locator("[data-testid='stToast']").first.wait_for(timeout=120_000)
    page.wait_for_timeout(600)  # a toast slides in
    cover = page.evaluate(RETRAIN_NOW_COVER)
    assert cover["clickable"] and not cover["covering"], cover
    assert bool(cover["toasts"]) or not toast, cover


def _status_line(page: Any) -> str:
    return page.locator("[data-testid='stMain'] [data-testid='stProgress']").first.inner_text()


@pytest.mark.parametrize(("size", "symbol"), [((1024, 768), "EURGBP"), ((1440, 900), "AUDUSD")])
def test_no_toast_covers_retrain_now_and_the_status_line_says_why_training_started(
    app: App, size: tuple[int, int], symbol: str, tmp_path: Path
) -> None:
    bars = fx_bars(600, freq="1D", start="2021-01-04", price=0.88, sd=0.004, seed=17, pad=300)
    supply.import_csv(app.ctx, tradingview_csv(bars, tmp_path / f"FX_{symbol}, 1D.csv"), symbol, "1d")
    width, height = size
    # Opening a pair without a model starts quick training; its progress line says so, and why.
    page = _open(app, f"?symbol={symbol}&tf=1d", width, height)
    _retrain_now_free(page)
    line = _status_line(page)
    assert re.search(r"Quick training \(job \d+\) started because the pair has no model yet", line), line
    # The job's end is told by a toast, away from the header's buttons too.
    _retrain_now_free(page, toast=True)
    page.close()
    # Its model, two days old, is stale: opening the pair again starts quick training again.
    with app.ctx.db.session() as session:
        session.execute(
            update(AIModelVersion)
            .where(AIModelVersion.symbol == symbol)
            .values(created_at=utcnow() - timedelta(days=2))
        )
    page = _open(app, f"?symbol={symbol}&tf=1d", width, height)
    _retrain_now_free(page)
    line = _status_line(page)
    assert re.search(r"started because the models are stale: newest model is 4\d\.\d h old", line), line
    page.screenshot(path=str(SHOTS / f"chart_4_training_started_{width}.png"))
    # Retrain now while it runs: its answer is a toast that leaves the button free.
    page.get_by_role("button", name="Retrain now").click()
    _retrain_now_free(page, toast=True)
    job = job_store.active_job(app.ctx.db, symbol, "1d")
    if job is not None:  # the next test finds the server idle
        job_store.request_cancel(app.ctx.db, job.job_id)
    page.close()


# Records the label of every tick the library formats (the chart's own formatter, or the library's
# default where it returns null); AXIS_READ makes the library format every drawn tick afresh.
AXIS_RECORDER = """box => {
    const c = box.getRootNode().__candleChart;
    const own = c.chart.options().timeScale.tickMarkFormatter;
    window.__ticks = new Map();
    window.__tickRecorder = (time, type, locale) => {
        const label = own ? own(time, type, locale) : null;
        window.__ticks.set(time, { type, label });
        return label;
    };
    c.chart.applyOptions({ timeScale: { tickMarkFormatter: window.__tickRecorder } });
}"""
AXIS_READ = """async box => {
    const c = box.getRootNode().__candleChart;
    const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await frames();
    const before = Object.fromEntries(window.__ticks);
    window.__ticks = new Map();
    c.chart.applyOptions({ timeScale: { tickMarkFormatter: window.__tickRecorder } });
    await frames();
    const r = c.chart.timeScale().getVisibleLogicalRange();
    const drawn = Object.fromEntries(window.__ticks);
    return { before, drawn, from: r.from, to: r.to, times: Array.from(c.times) };
}"""
PRESETS = "b => b.getRootNode().__candleChart.meta.presets"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _preset(page: Any, preset: str) -> str:
    page.locator(".cl-toolbar").get_by_role("button", name=preset, exact=True).click()
    page.wait_for_timeout(300)
    return preset


def _zoom(page: Any, centre: int, bars: int) -> str:
    """Show `bars` bars around the bar at index `centre`, as a wheel zoom would."""
    page.locator(CHART).evaluate(
        "(b, [from, to]) => b.getRootNode().__candleChart.chart.timeScale()"
        ".setVisibleLogicalRange({ from, to })",
        [centre - bars // 2, centre + bars // 2],
    )
    return f"{bars} bars"


def _axis_labels(page: Any, where: str) -> list[tuple[pd.Timestamp, str]]:
    """The time axis's labels as drawn, checked against what a reader expects of them."""
    axis = page.locator(CHART).evaluate(AXIS_READ)
    # What was drawn before the library was made to format afresh is what it formats now: no label
    # is kept from another zoom.
    assert {t: v for t, v in axis["before"].items() if t in axis["drawn"]} == {
        t: v for t, v in axis["drawn"].items() if t in axis["before"]
    }, where
    times = pd.DatetimeIndex(pd.to_datetime(axis["times"], unit="s", utc=True))
    intraday = bool((times.hour != 0).any())
    ticks = []
    for key, tick in axis["drawn"].items():
        at = pd.Timestamp(int(key), unit="s", tz="UTC")
        names = (str(at.year), MONTHS[at.month - 1], str(at.day), at.strftime("%H:%M"))
        label = tick["label"] if tick["label"] is not None else names[tick["type"]]
        assert label in names, (where, at, label)  # its own bar's year, month, day or time
        ticks.append((at, label))
    ticks.sort()
    # Where a month (intraday: a day) starts in view, its first tick reads as that start: the month
    # (the day), or the month or year it starts too. Nothing else in it reads so.
    unit = (lambda t: (t.year, t.month, t.day)) if intraday else (lambda t: (t.year, t.month))
    first_bar = {}
    for i, t in enumerate(times):
        first_bar.setdefault(unit(t), i)
    shown = range(max(1, int(np.ceil(axis["from"]))), int(np.floor(axis["to"])) + 1)
    for key, start in first_bar.items():
        inside = [label for at, label in ticks if unit(at) == key]
        if start not in shown or not inside:
            continue
        t, before = times[start], times[start - 1]
        names = [str(t.day)] if intraday else []
        names += [MONTHS[t.month - 1]] if (before.year, before.month) != (t.year, t.month) else []
        names += [str(t.year)] if before.year != t.year else []
        assert inside[0] in names, (where, t, inside)
        assert sum(label in names for label in inside) == 1, (where, t, inside)
    return ticks


@pytest.mark.skipif(not GBPUSD_MT5.exists(), reason="no shared GBPUSD export")
def test_the_time_axis_names_month_and_year_starts_and_intraday_day_starts(app: App) -> None:
    supply.import_csv(app.ctx, GBPUSD_MT5, "GBPUSD", "1d")
    page = _open(app, "?symbol=GBPUSD&tf=1d&range=1Y")
    job = job_store.active_job(app.ctx.db, "GBPUSD", "1d")  # opening the pair started quick training
    if job is not None:
        job_store.request_cancel(app.ctx.db, job.job_id)
    page.locator(CHART).evaluate(AXIS_RECORDER)
    # October 2023 opens with a short Sunday session, and the tick of its Monday read "2".
    ticks = _axis_labels(page, _preset(page, "1Y"))
    october = [label for at, label in ticks if (at.year, at.month) == (2023, 10)]
    assert october[:1] == ["Oct"], october
    assert "2024" in [label for at, label in ticks if (at.year, at.month) == (2024, 1)]
    page.screenshot(path=str(SHOTS / "chart_5_daily_axis.png"))
    for preset in page.locator(CHART).evaluate(PRESETS):
        _axis_labels(page, _preset(page, preset))
    # Zooming out from that October start, a tick drawn at one zoom reads right at the next.
    stored = _stored(app, "GBPUSD", "1d")
    start = int(stored.index.searchsorted(pd.Timestamp("2023-10-01", tz="UTC")))
    for bars in (12, 16, 24, 32, 48, 64, 96, 128, 160, 200, 260, 330, 420):
        _axis_labels(page, _zoom(page, start, bars))
    # Close in on it (its Monday's tick reads "2" there) and straight back out to 1Y.
    close = _axis_labels(page, _zoom(page, start, 8))
    assert [label for at, label in close if (at.month, at.day) == (10, 2)] == ["2"], close
    ticks = _axis_labels(page, _preset(page, "1Y"))
    assert [label for at, label in ticks if (at.year, at.month) == (2023, 10)][:1] == ["Oct"]
    page.close()
    page = _open(app, "?symbol=EURUSD&tf=1h")
    page.locator(CHART).evaluate(AXIS_RECORDER)
    for preset in page.locator(CHART).evaluate(PRESETS):
        _axis_labels(page, _preset(page, preset))
    for bars in (20, 40, 80, 160, 320, 640):
        _axis_labels(page, _zoom(page, 1_200, bars))
    page.close()
