"""The chart's candles: stored bars viewed at longer timeframes with exact OHLCV, packed compactly,
and a change of bar spacing found where it happens."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from core.views.candles import (
    price_dtype,
    resample,
    spacing_changes,
    unix_seconds,
    view_timeframes,
    volume_dtype,
)


def _bars(n: int, freq: str, start: str = "2024-03-04 03:45") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    rng = np.random.default_rng(7)
    close = 100 + rng.standard_normal(n).cumsum()
    open_ = close + rng.normal(0, 0.2, n)
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + rng.uniform(0, 1, n),
            "low": np.minimum(open_, close) - rng.uniform(0, 1, n),
            "close": close,
            "volume": rng.integers(1, 1_000, n).astype(float),
        },
        index=idx,
    )


@pytest.mark.parametrize(
    "step", [timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4), timedelta(days=1)]
)
def test_resampling_is_exact_for_every_candle(step: timedelta) -> None:
    bars = _bars(2_000, "5min")
    bars = bars.drop(bars.index[100:160])  # a pause: no candle is made of nothing
    out = resample(bars, step)
    for start, candle in out.iterrows():
        inside = bars[(bars.index >= start) & (bars.index < start + step)]
        assert len(inside), "an empty bin became a candle"
        assert candle["open"] == inside["open"].iloc[0] and candle["close"] == inside["close"].iloc[-1]
        assert candle["high"] == inside["high"].max() and candle["low"] == inside["low"].min()
        assert candle["volume"] == inside["volume"].sum()
    assert out["volume"].sum() == bars["volume"].sum()  # every bar is in exactly one candle
    assert (unix_seconds(out.index) % int(step.total_seconds()) == 0).all()  # aligned to the epoch


def test_a_1h_candle_holds_the_bars_from_hh00_to_hh55() -> None:
    bars = _bars(24, "5min", "2024-03-04 09:00")
    hour = resample(bars, timedelta(hours=1)).iloc[0]
    first = bars.iloc[:12]
    assert hour.name == pd.Timestamp("2024-03-04 09:00", tz="UTC")
    assert (hour["open"], hour["high"], hour["low"], hour["close"], hour["volume"]) == (
        first["open"].iloc[0],
        first["high"].max(),
        first["low"].min(),
        first["close"].iloc[-1],
        first["volume"].sum(),
    )


def test_a_series_is_viewed_only_at_timeframes_its_bars_divide() -> None:
    assert view_timeframes("5m") == ["5m", "15m", "30m", "1h", "4h", "1d", "1wk"]
    assert view_timeframes("1h") == ["1h", "4h", "1d", "1wk"]
    assert view_timeframes("1d") == ["1d", "1wk"]
    assert view_timeframes("1mo") == ["1mo"]


def test_float32_is_used_only_where_it_keeps_the_prices_precision() -> None:
    assert price_dtype(np.array([1.27345, 1.09999, 0.98765]), 5) == "float32"
    assert price_dtype(np.array([4_501.06, 123.45]), 2) == "float32"
    assert price_dtype(np.array([np.nan]), 2) == "float32"
    # 8 digits: float32 rounds them, so they travel as int32 ticks (cents here)...
    assert price_dtype(np.array([123_456.78, 98_765.43]), 2) == "int32"
    # ...unless a price is off the tick grid, missing, or too large for int32 ticks.
    assert price_dtype(np.array([123_456.78, 98_765.4321]), 2) == "float64"
    assert price_dtype(np.array([123_456.78, np.nan]), 2) == "float64"
    assert price_dtype(np.array([30_000_000.01]), 2) == "float64"


def test_volumes_travel_as_float32_only_when_it_holds_each_exactly() -> None:
    assert volume_dtype(np.array([0.0, 1_234.0, 16_777_216.0])) == "float32"
    assert volume_dtype(np.array([16_777_217.0])) == "float64"  # 2^24 + 1: float32 rounds it
    assert volume_dtype(np.array([123_456_789.0])) == "float64"
    assert volume_dtype(np.array([0.5, 0.1])) == "float64"  # 0.1 has no exact float32


def test_a_change_of_spacing_is_marked_at_the_first_bar_of_the_new_spacing() -> None:
    daily = np.arange(0, 200 * 86_400, 86_400)
    hourly = 200 * 86_400 + np.arange(0, 300 * 3_600, 3_600)
    changes = spacing_changes(np.concatenate([daily, hourly]))
    assert [(c.at, c.text) for c in changes] == [
        (0, "bars every 1 day"),
        (200 * 86_400, "bars every 1 hour from here"),
    ]
    assert spacing_changes(hourly) == []  # evenly spaced: nothing to say
