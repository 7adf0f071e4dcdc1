"""Hindsight labels: triple-barrier labels from what the price actually did (the reference labeler).

An ATR-scaled profit-take above and stop below the entry, plus a vertical barrier after
`horizon` bars. The upper price first is a BUY, the lower first a SELL, neither (or both inside
one bar, order unknown) a HOLD. The barrier width uses the ATR at the point, known then; only
the outcome looks ahead, which is the point of this labeler and why its labels are never used as
a model's input, only as its target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.labeling.barriers import NOT_HIT, barrier_hits
from core.labeling.context import compact_contexts
from core.labeling.schema import LabelRecord, LabelReply, record_from_reply


class HindsightLabeler:
    name = "hindsight"

    def __init__(self, horizon: int, barrier_atr: float = 1.5) -> None:
        if horizon < 1 or barrier_atr <= 0:
            raise ValueError("horizon must be >= 1 and barrier_atr > 0")
        self.horizon = horizon
        self.barrier_atr = barrier_atr

    @property
    def future_bars(self) -> int:
        """Look-ahead this labeler needs: points closer to the end than this are not eligible."""
        return self.horizon

    def params(self) -> dict[str, object]:
        return {"horizon_bars": self.horizon, "barrier_atr": self.barrier_atr}

    def label(self, bars: pd.DataFrame, features: pd.DataFrame, positions: np.ndarray) -> list[LabelRecord]:
        close = bars["close"].to_numpy(dtype="float64")
        price = close[positions]
        # Never wider than 45 % of the price, so a label always passes the 50 % rule.
        width = np.minimum(
            self.barrier_atr * features["atr"].to_numpy(dtype="float64")[positions], 0.45 * price
        )
        upper, lower = price + width, price - width
        hits = barrier_hits(
            bars["high"].to_numpy(dtype="float64"),
            bars["low"].to_numpy(dtype="float64"),
            close,
            positions,
            upper,
            lower,
            self.horizon,
        )
        first = hits.first()
        contexts = compact_contexts(bars, features, positions)
        records = []
        for i, pos in enumerate(positions):
            ts = bars.index[pos].to_pydatetime()
            context = contexts[i]
            if not np.isfinite(width[i]) or width[i] <= 0:
                records.append(
                    LabelRecord(
                        ts, float(price[i]), "rejected", "ATR is not available at this point", context=context
                    )
                )
                continue
            if first[i] == 1:
                rec, target, stop, bias = "BUY", upper[i], lower[i], "bullish"
                touched = int(hits.up_at[i])
                reasoning = f"price reached +{self.barrier_atr:g} ATR after {touched} bar(s), before the stop"
            elif first[i] == -1:
                rec, target, stop, bias = "SELL", lower[i], upper[i], "bearish"
                touched = int(hits.down_at[i])
                reasoning = f"price reached -{self.barrier_atr:g} ATR after {touched} bar(s), before the stop"
            else:
                rec, target, stop, bias = "HOLD", upper[i], lower[i], "neutral"
                touched = self.horizon
                both = hits.up_at[i] != NOT_HIT
                reasoning = (
                    "both barriers inside one bar; order unknown"
                    if both
                    else f"neither barrier reached within {self.horizon} bars"
                )
            if rec == "HOLD":
                drift = abs(hits.end_close[i] / price[i] - 1.0) if np.isfinite(hits.end_close[i]) else 0.0
                confidence = float(np.clip(1.0 - drift / (width[i] / price[i]), 0.5, 1.0))
            else:
                confidence = 0.5 + 0.5 * (1.0 - (touched - 1) / self.horizon)
            reply = LabelReply(
                target=round(float(target), 6),
                stop_loss=round(float(stop), 6),
                confidence=round(confidence, 4),
                recommendation=rec,
                bias=bias,
                reasoning=reasoning,
                horizon_bars=self.horizon,
            )
            records.append(record_from_reply(ts, float(price[i]), reply, context))
        return records


class HorizonLabeler:
    """Hindsight at the vertical barrier only: the direction of the close `horizon` bars later.

    The label names that close as its target and a stop as far on the other side, so its
    expected return is proportional to the move that happened. It is what walk-forward
    evaluation judges (the sign of the realised return over the pair's horizon), which makes it
    the free labeler the chart path learns from across its stored history. A flat close is a
    HOLD. Stored under the `hindsight` labeler name, with `barrier: vertical` in its parameters.
    """

    name = "hindsight"
    CONFIDENCE = 0.75

    def __init__(self, horizon: int) -> None:
        if horizon < 1:
            raise ValueError("horizon must be >= 1")
        self.horizon = horizon

    @property
    def future_bars(self) -> int:
        return self.horizon

    def params(self) -> dict[str, object]:
        return {"horizon_bars": self.horizon, "barrier": "vertical"}

    def label(self, bars: pd.DataFrame, features: pd.DataFrame, positions: np.ndarray) -> list[LabelRecord]:
        close = bars["close"].to_numpy(dtype="float64")
        positions = np.asarray(positions, dtype=np.int64)
        positions = positions[positions + self.horizon < len(close)]
        price, later = close[positions], close[positions + self.horizon]
        # Within the 50 % rule whatever happened, and never a zero distance.
        move = np.clip(np.abs(later / price - 1.0), 1e-4, 0.45)
        contexts = compact_contexts(bars, features, positions)
        records = []
        for i, pos in enumerate(positions):
            up, p = later[i] > price[i], float(price[i])
            rec = "BUY" if up else "SELL" if later[i] < price[i] else "HOLD"
            sign = 1.0 if rec != "SELL" else -1.0
            reply = LabelReply(
                target=round(p * (1.0 + sign * move[i]), 6),
                stop_loss=round(p * (1.0 - sign * move[i]), 6),
                confidence=self.CONFIDENCE if rec != "HOLD" else 0.5,
                recommendation=rec,  # type: ignore[arg-type]
                bias="bullish" if rec == "BUY" else "bearish" if rec == "SELL" else "neutral",
                reasoning=f"the close {self.horizon} bars later was {later[i] / p - 1.0:+.4%} away",
                horizon_bars=self.horizon,
            )
            records.append(record_from_reply(bars.index[pos].to_pydatetime(), p, reply, contexts[i]))
        return records
