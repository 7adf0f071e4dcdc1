"""Timeframes in yfinance's spelling, with the facts other modules need about each."""

from __future__ import annotations

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

    def bars_per_day(self, session_hours: float = 24.0) -> float:
        """Approximate bars in one calendar day of trading, for sizing windows and horizons."""
        if not self.intraday:
            return 1.0 / (self.nominal / timedelta(days=1))
        return session_hours * 3600 / self.nominal.total_seconds()


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


def normalise_symbol(symbol: str) -> str:
    """Upper-case and validate a ticker; exchange suffixes like `.NS` are kept."""
    cleaned = (symbol or "").strip().upper()
    if not cleaned or len(cleaned) > 32 or any(c.isspace() for c in cleaned):
        raise BadInput(f"invalid symbol {symbol!r}: expected a ticker such as GOOG or INFY.NS")
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-^=_")
    if not set(cleaned) <= allowed:
        raise BadInput(f"invalid symbol {symbol!r}: only letters, digits and . - ^ = _ are allowed")
    return cleaned
