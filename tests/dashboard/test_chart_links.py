"""Deep links to the chart (`?symbol=&tf=&range=`) at a timeframe only a resampled view has: 5m bars
linked as 15m, 1h, 4h or 1d open resampled, exactly, at the linked range; a view nothing stored can
be merged into gets a notice. Through AppTest on real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.settings import load_settings
from core.views.candles import VIEW_STEPS, resample
from tests.dashboard.conftest import chart_data, open_app
from tests.dashboard.markets import tradingview_csv
from tests.data.helpers import fx_bars


@pytest.fixture
def five_minute_home(dashboard_home: Callable[[Path | None], Path], markets_template: Path) -> Context:
    """The own-markets home plus USDCHF stored as 5-minute bars only."""
    home = dashboard_home(markets_template)
    ctx = Context.create(load_settings(), logs=False)
    bars = fx_bars(3_000, freq="5min", start="2024-03-04", price=0.89, sd=0.0004, seed=11, pad=600)
    supply.import_csv(ctx, tradingview_csv(bars, home / "FX_USDCHF, 5.csv"), "USDCHF", "5m")
    return ctx


def _link_notices(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "link" in w.value]


@pytest.mark.parametrize("view", ["15m", "1h", "4h", "1d"])
def test_a_link_to_a_resampled_timeframe_opens_it_exactly_at_the_linked_range(
    five_minute_home: Context, view: str
) -> None:
    at = open_app(query={"symbol": "USDCHF", "tf": view, "range": "1W"})
    assert not _link_notices(at)
    assert at.selectbox(key="tf").value == "5m"  # the stored series...
    assert at.selectbox(key="chart_view_tf").value == view  # ...viewed as linked
    chart = chart_data(at)
    assert chart.meta["pair"] == f"USDCHF|5m|{view}"
    assert chart.meta["view"]["range"] == "1W"
    with five_minute_home.db.read() as session:
        expected = resample(bar_store.load_bars(session, "USDCHF", "5m"), VIEW_STEPS[view])
    sent = chart.candles
    assert len(sent) == len(expected)
    assert (sent["t"].to_numpy() == expected.index.as_unit("s").asi8).all()
    for column in ("open", "high", "low", "close"):
        assert (sent[column].to_numpy(dtype="float64").round(5) == expected[column].round(5)).all(), column
    assert (sent["volume"].to_numpy() == expected["volume"].to_numpy()).all()
    assert at.query_params["tf"] == view and at.query_params["range"] == "1W"  # the link stays


def test_a_link_to_4h_of_an_hourly_series_opens_it_resampled(five_minute_home: Context) -> None:
    at = open_app(query={"symbol": "EURUSD", "tf": "4h"})
    assert not _link_notices(at)
    assert chart_data(at).meta["pair"] == "EURUSD|1h|4h"
    assert at.selectbox(key="chart_view_tf").value == "4h"
    models = open_app("models", {"symbol": "EURUSD", "tf": "4h"})  # other pages show the stored pair
    assert models.title[0].value == "Models · EURUSD · 1h"


def test_a_link_to_4h_of_a_daily_series_says_it_cannot_be_merged(five_minute_home: Context) -> None:
    at = open_app("models", {"symbol": "TINY", "tf": "4h"})
    notice = next(w.value for w in at.warning if "`4h`" in w.value)
    assert "no stored bars" in notice and "Showing TINY · 1d instead" in notice
    assert at.title[0].value == "Models · TINY · 1d"
