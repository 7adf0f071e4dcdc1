"""Candles and volume drawn as a handful of SVG paths instead of one element per bar.

Plotly's `Candlestick` and `Bar` draw one SVG element per bar; at 5,000 bars that is 10,000
elements and seconds of layout in the browser. Here every wick is a segment of ONE line trace,
the bodies are two thick-line traces (rising, falling) and the volume two more, so the browser
draws five paths whatever the window. A transparent line carries the OHLC hover text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

UP, DOWN = "#26a69a", "#ef5350"
PLOT_WIDTH_PX = 1100  # about the main column's width on a wide layout


def _segments(
    x: np.ndarray, lo: np.ndarray, hi: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x and y with a NaN gap after every (lo, hi) segment, for one `lines` trace.

    Float arrays (not lists) so Plotly ships them as compact binary and the browser decodes them fast.
    """
    idx = np.flatnonzero(mask)
    xs = np.full(3 * len(idx), np.nan, dtype=np.float32)  # float32 halves the bytes; prices keep 7 digits
    ys = np.full(3 * len(idx), np.nan, dtype=np.float32)
    xs[0::3] = xs[1::3] = x[idx]
    ys[0::3], ys[1::3] = lo[idx], hi[idx]
    return xs, ys


def body_width(n: int) -> float:
    return float(min(9.0, max(1.0, 0.7 * PLOT_WIDTH_PX / max(n, 1))))


def candle_traces(x: np.ndarray, bars: pd.DataFrame, times: list[str]) -> list[go.Scatter]:
    o, h, lo, c = (bars[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close"))
    rising = c >= o
    width = body_width(len(x))
    traces = []
    wx, wy = _segments(x, lo, h, np.ones(len(x), dtype=bool))
    traces.append(go.Scatter(x=wx, y=wy, mode="lines", line={"color": "rgba(190,190,200,0.65)", "width": 1},
                             hoverinfo="skip", showlegend=False, name="wicks"))  # fmt: skip
    for mask, color, name in ((rising, UP, "rising"), (~rising, DOWN, "falling")):
        bx, by = _segments(x, np.minimum(o, c), np.maximum(o, c), mask)
        traces.append(go.Scatter(x=bx, y=by, mode="lines", line={"color": color, "width": width},
                                 hoverinfo="skip", showlegend=False, name=name))  # fmt: skip
    hover = [
        f"O {a:,.2f}  H {b:,.2f}  L {d:,.2f}  C {e:,.2f}" for a, b, d, e in zip(o, h, lo, c, strict=True)
    ]
    traces.append(go.Scatter(x=x, y=c, mode="lines", line={"width": 0, "color": "rgba(0,0,0,0)"},
                             hovertext=hover, hoverinfo="text", showlegend=False, name="Price"))  # fmt: skip
    return traces


def volume_traces(x: np.ndarray, bars: pd.DataFrame) -> list[go.Scatter]:
    v = bars["volume"].to_numpy(dtype="float64")
    rising = bars["close"].to_numpy() >= bars["open"].to_numpy()
    width = body_width(len(x))
    traces = []
    for mask, color in ((rising, UP), (~rising, DOWN)):
        vx, vy = _segments(x, np.zeros(len(v)), v, mask)
        traces.append(go.Scatter(x=vx, y=vy, mode="lines", line={"color": color, "width": width}, opacity=0.5,
                                 hoverinfo="skip", showlegend=False, name="Volume"))  # fmt: skip
    return traces
