"""Prices at their market's precision: EURUSD with 5 decimals, USDJPY with 3, GOOG with 2.

Each series' precision is derived from its bars when they are stored (`core.data.precision`);
everything that shows a price (axis, hover, cards, tables, annotations) formats it through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.context import Context
from core.data import store
from core.data.precision import Precision, precision_of

DEFAULT_DECIMALS = 2
_SAMPLE_BARS = 2_000  # series stored before precision was recorded: derived from the newest bars


def format_price(value: float | None, decimals: int) -> str:
    """`1.23456`, `4,501.06`; an en dash for a missing value."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.{decimals}f}"


@dataclass(frozen=True)
class PriceFormat:
    decimals: int
    tick_size: float

    def __call__(self, value: float | None) -> str:
        return format_price(value, self.decimals)

    @property
    def d3(self) -> str:
        """The d3-format string Plotly takes for `tickformat` and `hoverformat`."""
        return f",.{self.decimals}f"

    @property
    def column_format(self) -> str:
        """The printf-style format Streamlit's `NumberColumn(format=…)` takes."""
        return f"%.{self.decimals}f"


def _from(precision: Precision | None) -> PriceFormat:
    if precision is None:
        return PriceFormat(DEFAULT_DECIMALS, 10.0**-DEFAULT_DECIMALS)
    return PriceFormat(precision.decimals, precision.tick_size)


def price_format(ctx: Context, symbol: str, timeframe: str) -> PriceFormat:
    """How to show this series' prices (2 decimals when nothing is stored)."""
    summary = store.read_summary(ctx.db, symbol, timeframe)
    if summary.precision is not None or not summary.rows:
        return _from(summary.precision)
    bars = store.read_bars(ctx.db, symbol, timeframe, limit=_SAMPLE_BARS)
    return _from(precision_of(bars))


def price_format_of_precision(precision: Precision | None) -> PriceFormat:
    """The format for a precision an import check derived (2 decimals when none could be)."""
    return _from(precision)


def price_formats(ctx: Context, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], PriceFormat]:
    """One format per (symbol, timeframe), for a table that mixes series (the Samples page)."""
    return {pair: price_format(ctx, *pair) for pair in dict.fromkeys(pairs)}
