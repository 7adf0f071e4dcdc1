"""Anonymized prompts: a point's context without symbol, calendar dates or absolute prices.

A model trained on data up to its cutoff can recall what a named stock did on a dated day
(Lopez-Lira, Tang & Zhu 2025), so a label for such a point can be memory, not analysis. The
anonymized context keeps what an analyst needs to read the chart and nothing that names it:

- no `symbol` and no calendar time: `as_of` is "t0", each candle's time is "t-k" (k bars before
  the point) with its weekday, and for intraday bars the time of day (the session is kept);
- prices rebased so the point's close is 100 (candles, `current_price` and the indicators in
  price units), volumes divided by their mean over the candles shown;
- no headlines: they name the company and date the point.

The reply comes back in the same units; `PRICE_BASIS / current_price` maps it to real prices.
Only keys known to carry nothing identifying are copied: a key added to contexts later stays
out of anonymized prompts until it is judged here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

PRICE_BASIS = 100.0
# Indicators in price units (the others are percentages, ratios or 0-100 scales).
PRICE_INDICATORS = ("atr_14", "sma_20", "price")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _rebase(value: float | None, factor: float) -> float | None:
    return None if value is None else round(value * factor, 4)


def _when(stamp: str, k: int, intraday: bool) -> str:
    at = datetime.fromisoformat(stamp)
    label = f"t{-k}" if k else "t0"
    day = _WEEKDAYS[at.weekday()]
    return f"{label} {day} {at:%H:%M}" if intraday else f"{label} {day}"


def anonymize(context: dict[str, Any], *, intraday: bool) -> tuple[dict[str, Any], float]:
    """The anonymized copy of a built context and the factor that rebased it (sent = real x factor)."""
    price = float(context["current_price"])
    factor = PRICE_BASIS / price
    candles = context.get("recent_candles") or []
    volumes = [float(c[5]) for c in candles]
    mean_volume = sum(volumes) / len(volumes) if volumes else 0.0
    n = len(candles)
    sent_candles = [
        [
            _when(c[0], n - 1 - i, intraday),
            *(_rebase(float(x), factor) for x in c[1:5]),
            round(float(c[5]) / mean_volume, 3) if mean_volume > 0 else 0.0,
        ]
        for i, c in enumerate(candles)
    ]
    indicators = dict(context.get("indicators") or {})
    for name in PRICE_INDICATORS:
        if name in indicators:
            indicators[name] = _rebase(indicators[name], factor)
    as_of = datetime.fromisoformat(context["as_of"])
    out: dict[str, Any] = {
        "timeframe": context["timeframe"],
        "as_of": "t0",
        "weekday": _WEEKDAYS[as_of.weekday()],
        "current_price": PRICE_BASIS,
        "recent_candles": sent_candles,
        "indicators": indicators,
        "news": [],
        "anonymized": True,
    }
    if intraday:
        out["time_of_day_utc"] = f"{as_of:%H:%M}"
    if "default_horizon_bars" in context:
        out["default_horizon_bars"] = context["default_horizon_bars"]
    return out, factor
