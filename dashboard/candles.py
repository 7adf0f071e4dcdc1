"""Candles and volume traces for the price chart, chosen for how fast the browser draws them.

Measured in headless Chromium with plotly.js on 5,000 candles (candles + two SMAs + volume):
Plotly's own `Candlestick` with volume as two stepped areas draws in about 0.22 s; volume as
5,000 `Bar` rectangles costs 0.3 s more, and candles faked as NaN-separated thick lines cost
about 1.9 s. Volume is therefore two filled step lines (rising and falling bars), one path each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.theme import DOWN, DOWN_FILL, UP, UP_FILL

PRICE_TRACE = "price"  # the candlestick trace's name (benchmarks look for it in messages)


def candle_traces(x: np.ndarray, bars: pd.DataFrame) -> list[go.Candlestick]:
    """One candlestick trace; `x` names each slot by its bar's time, so the hover shows that time."""
    return [
        go.Candlestick(
            x=x,
            open=bars["open"].to_numpy(dtype="float64"),
            high=bars["high"].to_numpy(dtype="float64"),
            low=bars["low"].to_numpy(dtype="float64"),
            close=bars["close"].to_numpy(dtype="float64"),
            name=PRICE_TRACE,
            showlegend=False,
            increasing={"line": {"color": UP, "width": 1}, "fillcolor": UP},
            decreasing={"line": {"color": DOWN, "width": 1}, "fillcolor": DOWN},
            whiskerwidth=0,
        )
    ]


def volume_traces(x: np.ndarray, bars: pd.DataFrame) -> list[go.Scatter]:
    """Volume as two stepped areas, rising bars green and falling bars red, one path each."""
    volume = bars["volume"].to_numpy(dtype="float64")
    rising = bars["close"].to_numpy() >= bars["open"].to_numpy()
    traces = []
    for mask, fill, name in ((rising, UP_FILL, "volume (up)"), (~rising, DOWN_FILL, "volume (down)")):
        traces.append(
            go.Scatter(
                x=x,
                y=np.where(mask, volume, 0.0),
                mode="lines",
                line={"shape": "hv", "width": 0},
                fill="tozeroy",
                fillcolor=fill,
                hoverinfo="skip",
                showlegend=False,
                name=name,
            )
        )
    return traces
