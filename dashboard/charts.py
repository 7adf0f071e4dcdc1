"""Plotly figures. The price chart uses a category x-axis (one slot per candle, named by the bar's
time) so nights, weekends and holidays leave no gaps and the hover names the bar's time, not a slot
number; overlays are placed on the candle that contains their time. Prices are shown at the
series' own precision (`PriceFormat`): 1.27345 for GBPUSD, 4,501.06 for an index."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.views.market import ChartWindow
from core.views.overlays import ActiveSignal
from core.views.prices import DEFAULT_DECIMALS, PriceFormat
from dashboard.candles import candle_traces, volume_traces
from dashboard.levels import MARGIN_PX, Level, add_level_labels
from dashboard.theme import (
    ACCENT,
    DOWN,
    GRID,
    MACD_COLOR,
    MARKER_EDGE,
    MARKER_EDGE_DARK,
    MUTED,
    REC_COLORS,
    RSI_COLOR,
    SERIES_COLORS,
    SMA_COLORS,
    STOP_COLOR,
    TARGET_COLOR,
    UP,
)

SUBPLOT = {"RSI 14": 0.16, "MACD": 0.16}
DEFAULT_PRICES = PriceFormat(DEFAULT_DECIMALS, 10.0**-DEFAULT_DECIMALS)


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


def time_labels(index: pd.DatetimeIndex, intraday: bool) -> list[str]:
    return list(index.strftime("%Y-%m-%d %H:%M" if intraday else "%Y-%m-%d"))


def candle_positions(index: pd.DatetimeIndex, times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """The candle containing each time (-1 when before the window)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    return index.searchsorted(stamps, side="right") - 1


def _add_overlays(fig: go.Figure, x: np.ndarray, ind: pd.DataFrame, indicators: Sequence[str]) -> None:
    """Moving averages and Bollinger bands on the price panel."""
    for name, column, color in (
        ("SMA 20", "sma_20", SMA_COLORS["SMA 20"]),
        ("SMA 50", "sma_50", SMA_COLORS["SMA 50"]),
    ):
        if name in indicators:
            fig.add_trace(
                go.Scatter(x=x, y=ind[column], name=name, line={"width": 1.2, "color": color}), row=1, col=1
            )
    if "Bollinger 20" in indicators:
        for column, label in (("bb_upper", "Bollinger upper"), ("bb_lower", "Bollinger lower")):
            fig.add_trace(
                go.Scatter(x=x, y=ind[column], name=label, line={"width": 1, "color": MUTED, "dash": "dot"}),
                row=1,
                col=1,
            )


def _add_lower_panels(fig: go.Figure, x: np.ndarray, ind: pd.DataFrame, lower: list[str]) -> None:
    """RSI and MACD, each in its own panel under the volume."""
    row = 3
    if "RSI 14" in lower:
        fig.add_trace(
            go.Scatter(x=x, y=ind["rsi_14"], name="RSI 14", line={"color": RSI_COLOR}), row=row, col=1
        )
        for level in (30, 70):
            fig.add_hline(y=level, line={"color": MUTED, "width": 1, "dash": "dot"}, row=row, col=1)
        fig.update_yaxes(range=[0, 100], title_text="RSI", row=row, col=1, title_font={"size": 10})
        row += 1
    if "MACD" in lower:
        fig.add_trace(
            go.Bar(x=x, y=ind["macd_hist_pct"], name="MACD hist %", marker_color=MUTED), row=row, col=1
        )
        fig.add_trace(
            go.Scatter(x=x, y=ind["macd_pct"], name="MACD %", line={"color": MACD_COLOR}), row=row, col=1
        )
        fig.add_trace(
            go.Scatter(x=x, y=ind["macd_signal_pct"], name="Signal %", line={"color": ACCENT}), row=row, col=1
        )
        fig.update_yaxes(title_text="MACD %", row=row, col=1, title_font={"size": 10})


def price_chart(
    window: ChartWindow,
    *,
    intraday: bool,
    indicators: Sequence[str] = (),
    signals: Sequence[ActiveSignal] = (),
    trades: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    label_levels: bool = False,
    prices: PriceFormat = DEFAULT_PRICES,
    height: int = 640,
    revision: str = "keep",
) -> go.Figure:
    """Candles, volume and the chosen indicators; `revision` changes when the window does, so a
    zoom survives reruns of the same window but a new range preset is shown whole."""
    bars, ind = window.bars, window.indicators
    x = np.array(time_labels(bars.index, intraday), dtype=object)  # category slots named by time
    lower = [name for name in ("RSI 14", "MACD") if name in indicators]
    rows = 2 + len(lower)
    heights = [1.0 - 0.14 - sum(SUBPLOT[n] for n in lower), 0.14, *(SUBPLOT[n] for n in lower)]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.02, row_heights=heights)
    for trace in candle_traces(x, bars):
        fig.add_trace(trace, row=1, col=1)
    _add_overlays(fig, x, ind, indicators)
    for trace in volume_traces(x, bars):
        fig.add_trace(trace, row=2, col=1)
    fig.update_yaxes(title_text="Vol", row=2, col=1, title_font={"size": 10}, tickformat="~s")
    _add_lower_panels(fig, x, ind, lower)
    if labels is not None and not labels.empty:
        _add_labels(fig, bars.index, x, labels, prices)
        if label_levels:
            _add_label_levels(fig, bars.index, x, labels)
    if trades is not None and not trades.empty:
        _add_trades(fig, bars.index, x, trades, prices)
    _add_signals(fig, bars, x, signals, prices)
    ticks = np.unique(np.linspace(0, len(x) - 1, min(len(x), 10)).round().astype(int)) if len(x) else []
    fig.update_xaxes(
        type="category",
        tickmode="array",
        tickvals=[x[i] for i in ticks],
        ticktext=[x[i] for i in ticks],
        showgrid=False,
        range=[-1, len(x) + max(3, len(x) // 50)],
        rangeslider_visible=False,
    )
    fig.update_yaxes(showgrid=True, gridcolor=GRID)
    fig.update_yaxes(tickformat=prices.d3, hoverformat=prices.d3, row=1, col=1)
    fig = _layout(fig, height)
    fig.update_layout(uirevision=revision)
    if signals:
        fig.update_layout(margin={"r": MARGIN_PX})
    return fig


def _add_labels(
    fig: go.Figure, index: pd.DatetimeIndex, x: np.ndarray, labels: pd.DataFrame, prices: PriceFormat
) -> None:
    pos = candle_positions(index, labels.index)
    keep = pos >= 0
    labels, pos = labels[keep], pos[keep]
    for rec, symbol in (("BUY", "triangle-up"), ("SELL", "triangle-down"), ("HOLD", "circle")):
        part = labels["recommendation"].to_numpy() == rec
        if not part.any():
            continue
        sub = labels[part]
        hover = [
            f"{rec} label · conf {c:.0%}<br>entry {prices(p)} · target {prices(t)} · stop {prices(s)}"
            f"<br>outcome {o or 'pending'}"
            for c, p, t, s, o in zip(
                sub["confidence"],
                sub["current_price"],
                sub["target"],
                sub["stop_loss"],
                sub["outcome"],
                strict=True,
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in pos[part]],
                y=sub["current_price"],
                mode="markers",
                name=f"{rec} labels",
                marker={
                    "symbol": symbol,
                    "size": 8,
                    "color": REC_COLORS[rec],
                    "line": {"width": 1, "color": MARKER_EDGE_DARK},
                },
                hovertext=hover,
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )


def _add_label_levels(fig: go.Figure, index: pd.DatetimeIndex, x: np.ndarray, labels: pd.DataFrame) -> None:
    """Each label's target and stop as short segments over its horizon (one trace per level kind)."""
    pos = candle_positions(index, labels.index)
    raw = labels["horizon_bars"] if "horizon_bars" in labels else pd.Series(np.nan, index=labels.index)
    horizon = pd.to_numeric(raw, errors="coerce").fillna(10).astype(int).to_numpy()
    for column, name, color in (
        ("target", "label targets", TARGET_COLOR),
        ("stop_loss", "label stops", STOP_COLOR),
    ):
        xs: list[str | None] = []
        ys: list[float | None] = []
        for p, h, level in zip(pos, horizon, labels[column].to_numpy(dtype="float64"), strict=True):
            if p < 0 or not np.isfinite(level):
                continue
            xs += [x[p], x[min(len(x) - 1, p + max(1, h))], None]
            ys += [level, level, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=name,
                line={"color": color, "width": 1.2},
                opacity=0.7,
                hoverinfo="skip",
                connectgaps=False,
            ),
            row=1,
            col=1,
        )


def _add_trades(
    fig: go.Figure, index: pd.DatetimeIndex, x: np.ndarray, trades: pd.DataFrame, prices: PriceFormat
) -> None:
    entry = candle_positions(index, trades["predicted_at"])
    ok = entry >= 0
    t = trades[ok]
    if t.empty:
        return
    fig.add_trace(
        go.Scatter(
            x=[x[i] for i in entry[ok]],
            y=t["entry_price"],
            mode="markers",
            name="Paper entries",
            marker={
                "symbol": ["triangle-up" if r == "BUY" else "triangle-down" for r in t["recommendation"]],
                "size": 11,
                "color": [REC_COLORS.get(r, MUTED) for r in t["recommendation"]],
                "line": {"width": 1.5, "color": MARKER_EDGE},
            },
            hovertext=[
                f"{b} #{v} {r} at {prices(p)} · conf {c:.0%}"
                for b, v, r, c, p in zip(
                    t["bot"],
                    t["version_id"],
                    t["recommendation"],
                    t["confidence"],
                    t["entry_price"],
                    strict=True,
                )
            ],
            hoverinfo="text",
        ),
        row=1,
        col=1,
    )
    closed = t[t["exit_time"].notna()]
    if closed.empty:
        return
    exits = candle_positions(index, closed["exit_time"])
    inside = (exits >= 0) & (exits < len(x))
    closed, exits = closed[inside], exits[inside]
    fig.add_trace(
        go.Scatter(
            x=[x[i] for i in exits],
            y=closed["exit_price"],
            mode="markers",
            name="Paper exits",
            marker={
                "symbol": "x",
                "size": 9,
                "color": [TARGET_COLOR if (p or 0) > 0 else STOP_COLOR for p in closed["pnl_pct"]],
            },
            hovertext=[
                f"exit ({r}) at {prices(e)} · P&L {p:+.2%}"
                for r, p, e in zip(
                    closed["exit_reason"], closed["pnl_pct"].fillna(0), closed["exit_price"], strict=True
                )
            ],
            hoverinfo="text",
        ),
        row=1,
        col=1,
    )


def _add_signals(
    fig: go.Figure, bars: pd.DataFrame, x: np.ndarray, signals: Sequence[ActiveSignal], prices: PriceFormat
) -> None:
    """Target and stop of each active bot's latest call over the newest tenth of the window, each
    named in the right margin (spread apart when levels crowd) rather than printed over the candles."""
    if not signals or not len(x):
        return
    start = x[max(0, len(x) - max(10, len(x) // 10))]
    levels: list[Level] = []
    for sig in signals:
        for level, name, line_color, dash in (
            (sig.target, "target", TARGET_COLOR, "dash"),
            (sig.stop_loss, "stop", STOP_COLOR, "dot"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=[start, x[-1]],
                    y=[level, level],
                    mode="lines",
                    name=f"{sig.name} {name}",
                    line={"color": line_color, "width": 1.5, "dash": dash},
                    hovertemplate=f"{sig.name} {name} {prices(level)}<extra></extra>",
                    showlegend=False,
                ),
                row=1,
                col=1,
            )
            levels.append(Level(level, f"{sig.name} {name} {prices(level)}", line_color))
        raw = f" (raw {sig.raw_confidence:.0%})" if sig.raw_confidence is not None else ""
        fig.add_trace(
            go.Scatter(
                x=[x[-1]],
                y=[sig.current_price],
                mode="markers",
                name=f"{sig.name} {sig.recommendation}",
                marker={
                    "size": 14,
                    "color": REC_COLORS.get(sig.recommendation, MUTED),
                    "symbol": "diamond",
                    "line": {"width": 1.5, "color": MARKER_EDGE},
                },
                hovertext=f"{sig.name}: {sig.recommendation} at {prices(sig.current_price)} · "
                f"confidence {sig.confidence:.0%} calibrated{raw}",
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    window_prices = [float(bars["low"].min()), float(bars["high"].max())] + [lv.price for lv in levels]
    add_level_labels(fig, levels, (min(window_prices), max(window_prices)))


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


def label_path(
    bars: pd.DataFrame,
    entry_ts: pd.Timestamp,
    levels: dict[str, float],
    intraday: bool,
    prices: PriceFormat = DEFAULT_PRICES,
    height: int = 300,
) -> go.Figure:
    """The bars around one label, with its entry, target and stop: what the price did next."""
    x = time_labels(bars.index, intraday)
    fig = go.Figure(
        go.Candlestick(
            x=x,
            open=bars["open"],
            high=bars["high"],
            low=bars["low"],
            close=bars["close"],
            showlegend=False,
            increasing_line_color=UP,
            decreasing_line_color=DOWN,
        )
    )
    pos = int(candle_positions(bars.index, pd.DatetimeIndex([entry_ts]))[0])
    if 0 <= pos < len(x):
        fig.add_vline(x=pos, line={"color": ACCENT, "width": 1, "dash": "dot"})
    colors = {"entry": ACCENT, "target": TARGET_COLOR, "stop": STOP_COLOR}
    shown = [
        Level(float(level), f"{name} {prices(level)}", colors.get(name, MUTED))
        for name, level in levels.items()
        if level is not None and np.isfinite(level)
    ]
    for level in shown:
        fig.add_hline(y=level.price, line={"color": level.color, "width": 1.2, "dash": "dash"})
    span = [float(bars["low"].min()), float(bars["high"].max()), *(lv.price for lv in shown)]
    add_level_labels(fig, shown, (min(span), max(span)))
    fig.update_xaxes(type="category", rangeslider_visible=False, nticks=8)
    fig.update_yaxes(tickformat=prices.d3, hoverformat=prices.d3)
    fig = _layout(fig, height, legend=False)
    fig.update_layout(margin={"r": 130})
    return fig
