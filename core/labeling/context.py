"""The description of one point that a labeler sees (for the LLM, the user message of CONTRACTS §2).

Built from bars at or before the point only; it is stored with the label so the Labels page can
show exactly what was sent.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.features.indicators import prompt_indicators

RECENT_CANDLES = 30


def build_context(
    symbol: str,
    timeframe: str,
    bars: pd.DataFrame,
    features: pd.DataFrame,
    position: int,
    news: list[str] | None = None,
) -> dict[str, Any]:
    """Context for the bar at integer `position` of `bars` (features aligned with bars)."""
    row = bars.iloc[position]
    window = bars.iloc[max(0, position - RECENT_CANDLES + 1) : position + 1]
    candles = [
        [ts.isoformat(), round(o, 6), round(h, 6), round(lo, 6), round(c, 6), round(v, 2)]
        for ts, (o, h, lo, c, v) in zip(
            window.index,
            window[["open", "high", "low", "close", "volume"]].itertuples(index=False),
            strict=True,
        )
    ]
    price = float(row["close"])
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "as_of": bars.index[position].isoformat(),
        "current_price": round(price, 6),
        "recent_candles": candles,
        "indicators": prompt_indicators(features.iloc[position], price),
        "news": list(news or []),
    }


def compact_context(bars: pd.DataFrame, features: pd.DataFrame, position: int) -> dict[str, Any]:
    """What an offline labeler used: the point and its indicators (the candles are in the bar store)."""
    price = float(bars["close"].iloc[position])
    return {
        "as_of": bars.index[position].isoformat(),
        "current_price": round(price, 6),
        "indicators": prompt_indicators(features.iloc[position], price),
    }
