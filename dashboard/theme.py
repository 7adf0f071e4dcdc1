"""Every colour the dashboard draws with, defined once: charts, tables and badges all read them here."""

from __future__ import annotations

# Price direction (candles, volume, win/loss histograms).
UP = "#26a69a"
DOWN = "#ef5350"
UP_FILL = "rgba(38,166,154,0.45)"
DOWN_FILL = "rgba(239,83,80,0.45)"

# One colour per call, used by every chart, table and badge.
REC_COLORS = {"BUY": UP, "SELL": DOWN, "HOLD": "#8d99ae"}
REC_BADGE = {"BUY": "green", "SELL": "red", "HOLD": "gray"}
TARGET_COLOR = UP
STOP_COLOR = DOWN
ACCENT = "#f0b429"

# Indicators and chart furniture.
SMA_COLORS = {"SMA 20": "#64b5f6", "SMA 50": "#ffb74d"}
RSI_COLOR = "#ba68c8"
MACD_COLOR = "#4fc3f7"
MUTED = "rgba(160,160,170,0.55)"
GRID = "rgba(128,128,128,0.12)"
MARKER_EDGE = "#fff"
MARKER_EDGE_DARK = "#111"

# Streamlit badge colours per job or label-set status.
STATUS_BADGE = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "orange",
    "interrupted": "orange",
    "budget_exhausted": "orange",
    "auth_failed": "red",
}

# Series that must tell apart at a glance (compared equity curves): Tableau 10, legible on dark.
SERIES_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
SERIES_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
