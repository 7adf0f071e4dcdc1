"""A CSV brought to the Data page, checked before anything is stored: what was detected, its first
rows, its whole span, its price precision and the warnings the import would give (gaps, bars
spaced unlike the timeframe).

The check reads the whole file through the same chunked reader and spacing check the import uses,
so a bad line is named here, before the analyst presses Import; the import then runs its own
checks again (it never trusts this preview) and stores all rows or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.context import Context
from core.data.csv_layout import detect_layout
from core.data.csv_stream import read_chunks
from core.data.precision import PrecisionEstimate
from core.data.spacing import SpacingCheck
from core.data.uploads import CsvPreview, display_name, preview_file, spooled
from core.errors import BadInput
from core.timeframes import TIMEFRAMES, normalise_symbol, parse_timeframe
from core.views.prices import PriceFormat, price_format_of_precision

# How exports name their bar size: MT5 (H1, D1), TradingView ("60", "1D"), plain words.
_TF_TOKENS = {
    **{code.lower(): code for code in TIMEFRAMES},
    **{"m1": "1m", "m5": "5m", "m15": "15m", "m30": "30m", "h1": "1h", "60": "1h", "d1": "1d"},
    **{"w1": "1wk", "mn1": "1mo", "mn": "1mo", "1w": "1wk", "1mn": "1mo"},
    **{"d": "1d", "1d": "1d", "daily": "1d", "hourly": "1h", "h": "1h", "weekly": "1wk"},
    **{"monthly": "1mo", "5": "5m", "15": "15m", "30": "30m", "240": "4h"},
}
_NOISE_WORDS = {"mt5", "mt4", "tradingview", "export", "data", "chart", "history", "bars", "csv", "ohlc"}
# TradingView prefixes the venue: `OANDA_XAUUSD, 1D.csv`, `BINANCE_BTCUSDT, 60.csv`.
_VENUES = {"fx", "oanda", "fxcm", "forexcom", "pepperstone", "icmarkets", "idc", "saxo", "capitalcom"}
_VENUES |= {"binance", "coinbase", "bitstamp", "kraken", "bybit", "nasdaq", "nyse", "amex", "nse", "bse"}
_TOKEN = re.compile(r"[\s_,;()\-]+")


@dataclass(frozen=True)
class UploadCheck:
    """Everything the page shows before the import button."""

    name: str
    preview: CsvPreview
    rows: int
    first: datetime
    last: datetime
    warnings: list[str]
    prices: PriceFormat

    @property
    def format_title(self) -> str:
        return self.preview.format.title


def guess_pair(file_name: str) -> tuple[str | None, str | None]:
    """(symbol, timeframe) as an export's file name usually says them: `GBPUSD_1d_mt5.csv`,
    `EURUSD_H1.csv`, `FX_EURUSD, 60.csv`. Either may be None; the analyst confirms both."""
    stem = Path(display_name(file_name)).stem
    symbol = timeframe = None
    for token in (t for t in _TOKEN.split(stem) if t):
        low = token.lower()
        if timeframe is None and low in _TF_TOKENS and _TF_TOKENS[low] in TIMEFRAMES:
            timeframe = _TF_TOKENS[low]
            continue
        if symbol is None and low not in _NOISE_WORDS | _VENUES and not token.isdigit():
            try:
                symbol = normalise_symbol(token)
            except BadInput:
                continue
    return symbol, timeframe


def _scan(path: Path, name: str, timeframe: str, preview: CsvPreview) -> UploadCheck:
    """Stream the whole file once: rows, span, precision and the import's spacing warnings."""
    layout = detect_layout(path, name)
    tf = parse_timeframe(timeframe)
    spacing, precision = SpacingCheck(tf), PrecisionEstimate()
    rows, first, last, last_us, ordered = 0, None, None, None, True
    for chunk in read_chunks(path, layout, what=name):
        stamps = chunk.bars.index.as_unit("us").asi8
        precision.feed(chunk.bars)
        rows += len(stamps)
        low, high = chunk.bars.index.min(), chunk.bars.index.max()
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
        ordered = ordered and bool((np.diff(chunk.lines) > 0).all())
        ordered = ordered and (last_us is None or int(stamps[0]) > last_us)
        if ordered:
            spacing.feed(stamps)
            last_us = int(stamps[-1])
    if not rows or first is None or last is None:
        raise BadInput(f"{name} has a header but no rows")
    if not ordered:  # a file out of time order: its times once more, sorted (8 bytes a row)
        spacing = SpacingCheck(tf)
        times = [c.bars.index.as_unit("us").asi8 for c in read_chunks(path, layout, what=name)]
        spacing.feed(np.unique(np.concatenate(times)))
    prices = price_format_of_precision(precision.result())
    span = first.to_pydatetime(), last.to_pydatetime()
    return UploadCheck(name, preview, rows, *span, spacing.warnings(), prices)


def check_upload(ctx: Context, stream: BinaryIO, name: str | None, timeframe: str) -> UploadCheck:
    """Spool the upload, detect its export, read every row: `BadInput` naming the first bad line."""
    shown = display_name(name)
    timeframe = parse_timeframe(timeframe).code
    with spooled(ctx, stream) as path:
        preview = preview_file(path, shown)
        return _scan(path, shown, timeframe, preview)
