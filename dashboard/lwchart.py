"""The candle chart as a Streamlit v2 component (no iframe) drawn by TradingView Lightweight Charts.

The library is the official standalone production build shipped inside the `lwcharts` wheel (a
dependency in pyproject.toml); it is read from the installed package when this module loads and
prepended to the component's module, so nothing is fetched from the internet. Candles travel as
Arrow columns (`core.views.candles`), overlays as a few small JSON records; the browser computes
the indicators from the closes (`lwchart_indicators.js`), so they add nothing to the wire.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.views.candles import CandleSeries, unix_seconds
from core.views.overlays import ActiveSignal
from core.views.prices import format_price
from dashboard.theme import (
    ACCENT,
    DOWN,
    DOWN_FILL,
    MACD_COLOR,
    MUTED,
    REC_COLORS,
    RSI_COLOR,
    SMA_COLORS,
    STOP_COLOR,
    TARGET_COLOR,
    UP,
    UP_FILL,
)

LIBRARY_DIST = "lwcharts"
LIBRARY_FILE = "lightweight-charts.standalone.production"
HERE = Path(__file__).resolve().parent
MODULE_FILES = ("lwchart_indicators.js", "lwchart.js")  # one module, in this order
COLORS = {
    "up": UP,
    "down": DOWN,
    "up_fill": UP_FILL,
    "down_fill": DOWN_FILL,
    "sma20": SMA_COLORS["SMA 20"],
    "sma50": SMA_COLORS["SMA 50"],
    "muted": MUTED,
    "rsi": RSI_COLOR,
    "macd": MACD_COLOR,
    "accent": ACCENT,
}


@functools.cache
def library_source() -> str:
    """The Lightweight Charts standalone build from the installed wheel (fails clearly without it)."""
    try:
        dist = importlib.metadata.distribution(LIBRARY_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            f"The chart needs the {LIBRARY_DIST} package: pip install -e . (make run installs it)"
        ) from None
    for file in dist.files or ():
        if file.name.startswith(LIBRARY_FILE) and file.name.endswith(".js"):
            return Path(str(dist.locate_file(file))).read_text(encoding="utf-8")
    raise RuntimeError(f"{LIBRARY_DIST} is installed without its {LIBRARY_FILE}*.js build")


@functools.cache
def _component() -> Callable[..., Any]:
    module = "\n".join((HERE / name).read_text(encoding="utf-8") for name in MODULE_FILES)
    # The library assigns window.LightweightCharts; the module below reads it.
    return st.components.v2.component(
        "candlelab_chart",
        js=library_source() + "\n" + module,
        css=(HERE / "lwchart.css").read_text(encoding="utf-8"),
    )


@dataclass(frozen=True)
class ChartView:
    """What the analyst sees: kept in the URL (range) and the session, reported by the chart."""

    range: str | None
    candles: int | None
    indicators: list[str]
    overlays: list[str]
    log: bool = False


@dataclass
class Overlays:
    """Markers (with their hover text) and price lines, in the candles' own time slots."""

    levels: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    spacing: list[dict[str, Any]] = field(default_factory=list)


def _slots(times: np.ndarray, stamps: Sequence[Any] | pd.Series | pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """The candle time containing each stamp, and which stamps fall inside the candles."""
    secs = unix_seconds(pd.DatetimeIndex(pd.to_datetime(stamps, utc=True)))
    pos = np.searchsorted(times, secs, side="right") - 1
    inside = pos >= 0
    return times[np.clip(pos, 0, None)], inside


def overlays(
    series: CandleSeries,
    signals: Sequence[ActiveSignal],
    trades: pd.DataFrame | None,
    labels: pd.DataFrame | None,
    version_names: dict[int, str],
) -> Overlays:
    def px(value: float) -> str:
        return format_price(value, series.decimals)

    times = series.candles["t"].to_numpy(dtype="int64")
    out = Overlays()
    if not len(times):
        return out
    for sig in signals:
        for price, kind, color in ((sig.target, "target", TARGET_COLOR), (sig.stop_loss, "stop", STOP_COLOR)):
            out.levels.append(
                {"price": float(price), "kind": kind, "color": color, "title": f"{sig.name} {kind}"}
            )
        raw = f" (raw {sig.raw_confidence:.0%})" if sig.raw_confidence is not None else ""
        out.signals.append(
            {
                "time": int(times[-1]),
                "position": "aboveBar",
                "color": REC_COLORS.get(sig.recommendation, MUTED),
                "shape": "circle",
                "text": f"{sig.name} {sig.recommendation}",
                "detail": f"{sig.name}: {sig.recommendation} at {px(sig.current_price)} · target "
                f"{px(sig.target)} · stop {px(sig.stop_loss)} · confidence "
                f"{sig.confidence:.0%} calibrated{raw}",
            }
        )
    if trades is not None and not trades.empty:
        slot, inside = _slots(times, trades["predicted_at"])
        for t, ok, (_, row) in zip(slot, inside, trades.iterrows(), strict=True):
            if not ok:
                continue
            name = version_names.get(int(row["version_id"]), row["bot"])
            buy = row["recommendation"] == "BUY"
            outcome = (
                f" · exit {px(row['exit_price'])} ({row['exit_reason']}), P&L {row['pnl_pct']:+.2%}"
                if pd.notna(row["exit_time"]) and pd.notna(row["pnl_pct"])
                else " · open"
            )
            out.trades.append(
                {
                    "time": int(t),
                    "position": "belowBar" if buy else "aboveBar",
                    "color": REC_COLORS.get(row["recommendation"], MUTED),
                    "shape": "arrowUp" if buy else "arrowDown",
                    "text": "",
                    "detail": f"Paper {row['recommendation']} · {name} at {px(row['entry_price'])}"
                    f" · confidence {row['confidence']:.0%}{outcome}",
                }
            )
    if labels is not None and not labels.empty:
        slot, inside = _slots(times, labels.index)
        for t, ok, (_, row) in zip(slot, inside, labels.iterrows(), strict=True):
            if not ok:
                continue
            rec = row["recommendation"]
            out.labels.append(
                {
                    "time": int(t),
                    "position": "belowBar" if rec == "BUY" else "aboveBar",
                    "color": REC_COLORS.get(rec, MUTED),
                    "shape": "square" if rec == "HOLD" else ("arrowUp" if rec == "BUY" else "arrowDown"),
                    "text": "",
                    "detail": f"{rec} label · confidence {row['confidence']:.0%} · entry "
                    f"{px(row['current_price'])} · target {px(row['target'])} · stop "
                    f"{px(row['stop_loss'])} · outcome {row.get('outcome') or 'pending'}",
                }
            )
    for change in series.spacing:
        out.spacing.append(
            {
                "time": change.at,
                "position": "aboveBar",
                "color": MUTED,
                "shape": "square",
                "text": change.text,
                "detail": change.text,
            }
        )
    return out


def pair_of(series: CandleSeries) -> str:
    """The series' identity in the browser: symbol, stored and viewed timeframe."""
    return f"{series.symbol}|{series.stored}|{series.view}"


def candle_chart(
    series: CandleSeries,
    *,
    title: str,
    intraday: bool,
    presets: list[str],
    view: ChartView,
    pinned: bool,
    marks: Overlays,
    key: str,
    total: int | None = None,
    on_view: Callable[[], None] | None = None,
    on_history: Callable[[], None] | None = None,
) -> Any:
    """Mount the chart. Its data changes only with the series, the candles held or the overlays'
    content, so a rerun for anything else (a toggle reported back, a job's progress) re-sends
    nothing large: Streamlit sends a repeated message as a reference the browser already holds.

    `series` may be the newest part of a longer one (`total` candles): the browser then asks for
    earlier history (`on_history`) when the analyst scrolls back to its oldest candle."""
    pair = pair_of(series)
    newest = int(series.candles["t"].iat[-1]) if len(series.candles) else 0
    content = hashlib.sha1(json.dumps(asdict(marks), sort_keys=True).encode()).hexdigest()[:12]
    meta = {
        "key": f"{pair}|{len(series.candles)}|{newest}|{content}",
        "pair": pair,
        "total": max(total or 0, len(series.candles)),
        # Each chart remembers its own view in the tab (the Labels page's charts are not the Chart's).
        "memory": f"{key}|{pair}",
        "title": title,
        "decimals": series.decimals,
        "tick_prices": series.tick_prices,
        "intraday": intraday,
        "presets": presets,
        "view": {
            "range": view.range,
            "candles": view.candles,
            "indicators": view.indicators,
            "overlays": view.overlays,
            "log": view.log,
        },
        "view_pinned": pinned,
        "colors": COLORS,
        "levels": marks.levels,
        "markers": {
            "signals": marks.signals,
            "trades": marks.trades,
            "labels": marks.labels,
            "spacing": marks.spacing,
        },
    }
    return _component()(
        key=key,
        data={"candles": series.candles, "meta": meta},
        on_view_change=on_view or (lambda: None),
        on_history_change=on_history or (lambda: None),
        width="stretch",
        height="content",
    )
