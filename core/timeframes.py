"""Timeframes in yfinance's spelling, with the facts other modules need about each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from core.errors import BadInput


@dataclass(frozen=True, slots=True)
class Timeframe:
    code: str
    pandas_freq: str
    # Yahoo serves intraday history only this far back (None: no limit).
    yahoo_max_days: int | None
    nominal: timedelta

    @property
    def intraday(self) -> bool:
        return self.nominal < timedelta(days=1)


TIMEFRAMES: dict[str, Timeframe] = {
    tf.code: tf
    for tf in (
        Timeframe("1m", "1min", 7, timedelta(minutes=1)),
        Timeframe("5m", "5min", 60, timedelta(minutes=5)),
        Timeframe("15m", "15min", 60, timedelta(minutes=15)),
        Timeframe("30m", "30min", 60, timedelta(minutes=30)),
        Timeframe("1h", "1h", 730, timedelta(hours=1)),
        Timeframe("1d", "1D", None, timedelta(days=1)),
        Timeframe("1wk", "W-MON", None, timedelta(weeks=1)),
        Timeframe("1mo", "MS", None, timedelta(days=30)),
    )
}


def parse_timeframe(code: str) -> Timeframe:
    """Return the timeframe for `code`, or raise `BadInput` listing the valid spellings."""
    try:
        return TIMEFRAMES[code.strip()]
    except (KeyError, AttributeError):
        raise BadInput(
            f"unknown timeframe {code!r}; use one of {', '.join(TIMEFRAMES)} (yfinance spelling)"
        ) from None


# A ticker as Yahoo, MetaTrader and the exchanges spell them: EURUSD=X, ^GSPC, BTC-USD, RELIANCE.NS,
# BRK-B, M&M.NS, ES=F. Letters and digits plus `. - _ = ^ &`; `^` only in front (an index). No `/`,
# `\`, `:` or spaces: a symbol reaches URLs, logs and file names, and must never act as a path.
SYMBOL_PATTERN = re.compile(r"\^?[A-Z0-9][A-Z0-9._=&-]{0,31}")
SYMBOL_RULE = (
    "up to 32 letters, digits and . - _ = & (a leading ^ for an index), starting with a letter or digit, "
    "e.g. GOOG, INFY.NS, EURUSD=X, ^GSPC, BTC-USD"
)


def normalise_symbol(symbol: str) -> str:
    """Upper-case and validate a ticker (`BadInput` otherwise); exchange suffixes like `.NS` are kept."""
    cleaned = (symbol or "").strip().upper() if isinstance(symbol, str) else ""
    if len(cleaned) > 32 or not SYMBOL_PATTERN.fullmatch(cleaned) or ".." in cleaned or cleaned.endswith("."):
        raise BadInput(f"invalid symbol {symbol!r}: use {SYMBOL_RULE}")
    return cleaned
