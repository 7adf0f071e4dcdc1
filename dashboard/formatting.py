"""Numbers as an analyst reads them: units, percentages with their counts, honest intervals.

An accuracy without its count invites over-reading ("52 %" from 40 points is noise), so every
proportion is shown with n and, when known, its 95 % interval. Pure functions: no Streamlit here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

# The palette lives in `dashboard.theme`; these names stay importable from here for the pages.
from dashboard.theme import ACCENT, REC_BADGE, REC_COLORS, STATUS_BADGE, STOP_COLOR, TARGET_COLOR

__all__ = ["ACCENT", "REC_BADGE", "REC_COLORS", "STATUS_BADGE", "STOP_COLOR", "TARGET_COLOR"]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def pct(value: float | None, digits: int = 0) -> str:
    """0.523 -> "52 %"; None -> "—"."""
    return "—" if _missing(value) else f"{float(value) * 100:.{digits}f} %"


def signed_pct(value: float | None, digits: int = 1) -> str:
    return "—" if _missing(value) else f"{float(value) * 100:+.{digits}f} %"


def drawdown(value: float | None, digits: int = 2) -> str:
    """A drawdown stored as the size of the fall (0.023) shown as the loss it is: "-2.30 %"."""
    return "—" if _missing(value) else signed_pct(-abs(float(value)), digits)


def pp(value: float | None, digits: int = 1) -> str:
    """A difference of two proportions, in percentage points."""
    return "—" if _missing(value) else f"{float(value) * 100:+.{digits}f} pp"


def num(value: float | None, digits: int = 2) -> str:
    return "—" if _missing(value) else f"{float(value):,.{digits}f}"


def count(value: int | None) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def usd(value: float | None) -> str:
    if _missing(value):
        return "—"
    value = float(value)
    return f"${value:,.4f}" if 0 < abs(value) < 0.01 else f"${value:,.2f}"


def price(value: float | None, decimals: int = 2) -> str:
    """A price at its market's precision (pass `PriceFormat.decimals`); 2 decimals by default."""
    return num(value, decimals)


def interval(ci: Sequence[float] | None) -> str:
    if not ci or len(ci) != 2 or any(_missing(v) for v in ci):
        return ""
    return f"{ci[0] * 100:.0f}–{ci[1] * 100:.0f} %"


def proportion(value: float | None, n: int | None, ci: Sequence[float] | None = None) -> str:
    """ "52 % on 40 points (95 % CI 37–67 %)": what the number is, and how much it can be trusted."""
    if _missing(value) or not n:
        return "— (no points)"
    text = f"{pct(value)} on {count(n)} point{'s' if n != 1 else ''}"
    span = interval(ci)
    return f"{text} (95 % CI {span})" if span else text


def when(value: datetime | str | None, with_time: bool = True) -> str:
    """Aware timestamps in UTC, compact; the page says UTC once in its captions."""
    if value is None or value == "":
        return "—"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """ "3 h ago": how old a model or a fetch is, at a glance."""
    if value is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = max(0.0, (now - value).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} d ago"


def duration(seconds: float | None) -> str:
    if _missing(seconds):
        return "—"
    seconds = float(seconds)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def parse_time(value: datetime | str) -> datetime:
    """An ISO string (as JSON columns store times) or a datetime, as an aware UTC datetime."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()
