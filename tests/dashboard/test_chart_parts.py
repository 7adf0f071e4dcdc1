"""The charts' pure parts: equity curves broken at gaps, range presets that fit the series, price
formats at the market's precision, and how many of the newest candles a chart holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from core.views.candles import CandleSeries, SpacingChange, candles_since, held_count, newest
from core.views.market import ALL_RANGE, SeriesSummary, range_presets, range_start
from core.views.prices import PriceFormat
from dashboard.charts import equity_curves, with_gaps


def test_equity_curves_break_at_gaps_and_differ_in_colour() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in (0, 1, 2, 3, 4, 70, 71, 72)]  # a weekend after 04:00
    points = [[t.isoformat(), 1.0 + i / 100] for i, t in enumerate(hours)]
    xs, ys = with_gaps(points)
    assert ys.count(None) == 1 and ys[5] is None and len(xs) == len(points) + 1
    fig = equity_curves({"rules · xgb_agent": points, "next_price · xgb_agent": points})
    colours = {trace.line.color for trace in fig.data}
    assert len(colours) == 2 and all(trace.connectgaps is False for trace in fig.data)


def _series(timeframe: str, first: datetime, last: datetime) -> SeriesSummary:
    return SeriesSummary("X", timeframe, 1_000, first, last)


def test_range_presets_fit_the_bar_size_and_the_history() -> None:
    last = datetime(2024, 6, 21, 23, tzinfo=UTC)
    hourly = range_presets(_series("1h", last - timedelta(days=200), last))
    assert hourly == ["1D", "1W", "1M", "3M", "YTD", ALL_RANGE]  # no 1Y in 200 days of history
    daily = range_presets(_series("1d", datetime(2014, 1, 14, tzinfo=UTC), last))
    assert daily[:2] == ["1M", "3M"] and "1D" not in daily and "5Y" in daily
    assert range_start("YTD", last) == datetime(2024, 1, 1, tzinfo=UTC)


def test_price_formats_follow_the_markets_precision() -> None:
    fx, jpy, stock = PriceFormat(5, 1e-5), PriceFormat(3, 1e-3), PriceFormat(2, 0.01)
    assert fx(1.6387800000000001) == "1.63878" and fx.d3 == ",.5f" and fx.column_format == "%.5f"
    assert jpy(151.2346) == "151.235"
    assert stock(4501.0639) == "4,501.06" and stock(float("nan")) == "–" and stock(None) == "–"


def _candles(n: int) -> CandleSeries:
    times = 1_700_000_000 + 3_600 * np.arange(n)
    frame = pd.DataFrame({"t": times.astype("int32"), "close": np.linspace(1, 2, n).astype("float32")})
    spacing = [SpacingChange(int(times[0]), "bars every 1 hour"), SpacingChange(int(times[n - 10]), "gap")]
    return CandleSeries("X", "1h", "1h", 2, frame, False, n, spacing)


def test_a_chart_holds_the_newest_candles_its_view_needs_three_times_over() -> None:
    series = _candles(10_000)
    shown = newest(series, 3_000)
    assert len(shown.candles) == 3_000 and shown.candles["t"].iat[-1] == series.candles["t"].iat[-1]
    assert [c.text for c in shown.spacing] == ["gap"]  # the marks among the candles held
    assert newest(series, 20_000) is series
    last = datetime.fromtimestamp(int(series.candles["t"].iat[-1]), UTC)
    assert candles_since(series, last - timedelta(hours=23)) == 24 and candles_since(series, None) == 10_000
    assert held_count(10_000, in_view=1_000) == 3_000 == held_count(10_000, in_view=200)
    assert held_count(10_000, in_view=2_000) == 6_000  # the view three times over
    assert held_count(10_000, in_view=100, held=5_000) == 5_000  # never fewer than already held
    assert held_count(10_000, in_view=100, wanted=12_000) == 10_000  # never more than there are
    assert held_count(800, in_view=1_000) == 800
