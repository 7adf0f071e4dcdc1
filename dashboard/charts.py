"""Plotly figures for the analysis views: equity curves, calibration, feature importance and P&L
distributions. Candles are drawn by TradingView Lightweight Charts (`dashboard.lwchart`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.theme import DOWN, MUTED, SERIES_COLORS, UP


def _layout(fig: go.Figure, height: int, *, legend: bool = True) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 28, "b": 8},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "font": {"size": 11}},
        hovermode="x unified",
        uirevision="keep",  # zoom and pan survive reruns
    )
    return fig


GAP_FACTOR = 5.0  # a step this many times the curve's typical one is a gap (a night, a weekend, missing data)


def with_gaps(points: Sequence[Sequence[object]]) -> tuple[list[object], list[float | None]]:
    """x and y of a curve with a break (None) wherever the data pauses, so no line bridges a gap."""
    if not points:
        return [], []
    times = pd.to_datetime([p[0] for p in points], utc=True)
    values = [float(p[1]) for p in points]  # type: ignore[arg-type]
    steps = np.diff(times.asi8)
    typical = float(np.median(steps)) if len(steps) else 0.0
    xs: list[object] = [times[0]]
    ys: list[float | None] = [values[0]]
    for i in range(1, len(values)):
        if typical > 0 and steps[i - 1] > GAP_FACTOR * typical:
            xs.append(times[i - 1] + (times[i] - times[i - 1]) / 2)
            ys.append(None)
        xs.append(times[i])
        ys.append(values[i])
    return xs, ys


def equity_curves(
    curves: dict[str, list[list[object]]],
    height: int = 320,
    styles: dict[str, tuple[str, str]] | None = None,
) -> go.Figure:
    """Compared equity curves, each in its own colour (or the given (colour, dash)), broken at gaps."""
    fig = go.Figure()
    for i, (name, points) in enumerate(curves.items()):
        if not points:
            continue
        color, dash = (styles or {}).get(name, (SERIES_COLORS[i % len(SERIES_COLORS)], "solid"))
        xs, ys = with_gaps(points)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=name,
                connectgaps=False,
                line={"color": color, "dash": dash, "width": 1.6},
                hovertemplate=f"{name}<br>%{{x|%Y-%m-%d %H:%M}} UTC<br>equity %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_hline(y=1.0, line={"color": MUTED, "width": 1, "dash": "dot"})
    fig.update_yaxes(title_text="Equity after costs (start = 1.0)", tickformat=".2f")
    fig = _layout(fig, height)
    fig.update_layout(hovermode="closest")
    return fig


def calibration_chart(buckets: dict[str, dict[str, dict[str, object]]], height: int = 320) -> go.Figure:
    """Hit rate per confidence bucket with its 95 % interval; the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0.45, 1.0],
            y=[0.45, 1.0],
            mode="lines",
            name="perfectly calibrated",
            line={"color": MUTED, "dash": "dot"},
        )
    )
    for name, table in buckets.items():
        mids, rates, lo, hi, counts = [], [], [], [], []
        for bucket, row in table.items():
            a, b = (float(v) for v in bucket.split("-"))
            rate = float(row.get("hit_rate") or 0.0)
            ci = row.get("ci") or [rate, rate]
            mids.append((a + b) / 2)
            rates.append(rate)
            lo.append(rate - float(ci[0]))
            hi.append(float(ci[1]) - rate)
            counts.append(int(row.get("count") or 0))
        fig.add_trace(
            go.Scatter(
                x=mids,
                y=rates,
                mode="markers+lines",
                name=name,
                error_y={"type": "data", "array": hi, "arrayminus": lo, "visible": True},
                hovertext=[f"{r:.0%} on {n} calls" for r, n in zip(rates, counts, strict=True)],
                hoverinfo="text",
            )
        )
    fig.update_xaxes(title_text="Stated confidence", tickformat=".0%", range=[0.0, 1.0])
    fig.update_yaxes(title_text="Hit rate", tickformat=".0%", range=[0, 1])
    return _layout(fig, height)


def importance_chart(importances: dict[str, dict[str, float]], top: int = 12, height: int = 360) -> go.Figure:
    total: dict[str, float] = {}
    for scores in importances.values():
        for feature, value in scores.items():
            total[feature] = total.get(feature, 0.0) + float(value)
    features = sorted(total, key=total.get)[-top:]  # type: ignore[arg-type]
    fig = go.Figure()
    for name, scores in importances.items():
        fig.add_trace(
            go.Bar(y=features, x=[scores.get(f, 0.0) for f in features], name=name, orientation="h")
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Share of importance", tickformat=".0%")
    return _layout(fig, height)


def pnl_histogram(pnl_pct: pd.Series, height: int = 260) -> go.Figure:
    values = pnl_pct.dropna() * 100
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=values[values > 0], name="wins", marker_color=UP, nbinsx=30))
    fig.add_trace(go.Histogram(x=values[values <= 0], name="losses", marker_color=DOWN, nbinsx=30))
    fig.update_layout(barmode="overlay")
    fig.update_traces(opacity=0.8)
    fig.update_xaxes(title_text="P&L per trade (%)")
    fig.update_yaxes(title_text="Trades")
    return _layout(fig, height)
