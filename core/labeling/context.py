"""The description of one point that a labeler sees (for the LLM, the user message of CONTRACTS §2).

Built from bars at or before the point only; it is stored with the label so the Labels page can
show exactly what was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.features.indicators import prompt_indicators

RECENT_CANDLES = 30
_OHLCV = ("open", "high", "low", "close", "volume")


def build_context(
    symbol: str,
    timeframe: str,
    bars: pd.DataFrame,
    features: pd.DataFrame,
    position: int,
    news: list[str] | None = None,
) -> dict[str, Any]:
    """Context for the bar at integer `position` of `bars` (features aligned with bars)."""
    return build_contexts(symbol, timeframe, bars, features, [position], [news or []])[0]


def build_contexts(
    symbol: str,
    timeframe: str,
    bars: pd.DataFrame,
    features: pd.DataFrame,
    positions: Sequence[int],
    news: Sequence[list[str]] | None = None,
) -> list[dict[str, Any]]:
    """`build_context` for many points: the frame is read into plain arrays once, not sliced per point."""
    positions = [int(p) for p in positions]
    if not positions:
        return []
    first = max(0, min(positions) - RECENT_CANDLES + 1)
    last = max(positions) + 1
    values = np.column_stack([bars[c].to_numpy(dtype="float64")[first:last] for c in _OHLCV]).tolist()
    stamps = [ts.isoformat() for ts in bars.index[first:last]]
    rows = features.iloc[positions].to_dict("records")
    out = []
    for i, pos in enumerate(positions):
        lo = max(first, pos - RECENT_CANDLES + 1) - first
        hi = pos + 1 - first
        candles = [
            [ts, round(o, 6), round(h, 6), round(low, 6), round(c, 6), round(v, 2)]
            for ts, (o, h, low, c, v) in zip(stamps[lo:hi], values[lo:hi], strict=True)
        ]
        price = values[hi - 1][3]
        out.append(
            {
                "symbol": symbol,
                "timeframe": timeframe,
                "as_of": stamps[hi - 1],
                "current_price": round(price, 6),
                "recent_candles": candles,
                "indicators": prompt_indicators(rows[i], price),  # type: ignore[arg-type]
                "news": list(news[i]) if news is not None else [],
            }
        )
    return out


def compact_context(bars: pd.DataFrame, features: pd.DataFrame, position: int) -> dict[str, Any]:
    """What an offline labeler used: the point and its indicators (the candles are in the bar store)."""
    price = float(bars["close"].iloc[position])
    return {
        "as_of": bars.index[position].isoformat(),
        "current_price": round(price, 6),
        "indicators": prompt_indicators(features.iloc[position], price),
    }


def compact_contexts(
    bars: pd.DataFrame, features: pd.DataFrame, positions: Sequence[int]
) -> list[dict[str, Any]]:
    """`compact_context` for many points at once (no per-row `iloc`, so 50,000 points take about a second)."""
    positions = np.asarray(positions, dtype=np.int64)
    prices = bars["close"].to_numpy(dtype="float64")[positions]
    stamps = bars.index[positions]
    rows = features.iloc[positions].to_dict("records")
    return [
        {
            "as_of": ts.isoformat(),
            "current_price": round(float(price), 6),
            "indicators": prompt_indicators(row, float(price)),  # type: ignore[arg-type]
        }
        for ts, price, row in zip(stamps, prices, rows, strict=True)
    ]
