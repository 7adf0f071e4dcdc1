"""The traditional label: the next candle's close (what the original system trained on).

A point is a BUY when the next bar closes higher, a SELL when it closes lower, a HOLD when it
closes unchanged. The target is that next close; the stop mirrors it on the other side of the
entry, so a label always satisfies the contract's price ordering. Confidence is 1: the label is a
recorded fact, not an opinion. Like hindsight labels it looks ahead (one bar), which is why it is
only ever a model's target, never its input; it is the baseline the labeler experiment compares
the LLM and the rule-based analyst against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.labeling.context import compact_contexts
from core.labeling.schema import LabelRecord, LabelReply, record_from_reply

HORIZON_BARS = 1
MIN_MOVE = 1e-4  # a HOLD's band (0.01 %) so its target and stop differ from the price


class NextPriceLabeler:
    name = "next_price"
    future_bars = HORIZON_BARS

    def __init__(self, horizon: int | None = None) -> None:
        """`horizon` is the run's default, taken by every labeler; this one always looks one bar ahead."""

    def params(self) -> dict[str, object]:
        return {"horizon_bars": HORIZON_BARS, "rule": "next bar's close"}

    def label(self, bars: pd.DataFrame, features: pd.DataFrame, positions: np.ndarray) -> list[LabelRecord]:
        positions = np.asarray(positions, dtype=np.int64)
        close = bars["close"].to_numpy(dtype="float64")
        price = close[positions]
        has_next = positions + 1 < len(close)
        nxt = np.where(has_next, close[np.minimum(positions + 1, len(close) - 1)], np.nan)
        contexts = compact_contexts(bars, features, positions)
        stamps = bars.index[positions].to_pydatetime()
        records = []
        for i in range(len(positions)):
            p = float(price[i])
            if not has_next[i] or not np.isfinite(nxt[i]):
                records.append(LabelRecord(stamps[i], p, "rejected", "no next bar yet", context=contexts[i]))
                continue
            move = float(nxt[i] / p - 1.0)
            if move > 0:
                rec, bias, target = "BUY", "bullish", float(nxt[i])
            elif move < 0:
                rec, bias, target = "SELL", "bearish", float(nxt[i])
            else:
                rec, bias, target = "HOLD", "neutral", p * (1.0 + MIN_MOVE)
            reply = LabelReply(
                target=round(target, 6),
                stop_loss=round(2.0 * p - target, 6),
                confidence=1.0,
                recommendation=rec,
                bias=bias,
                reasoning=f"the next bar closed {move * 100:+.3f}%",
                horizon_bars=HORIZON_BARS,
            )
            records.append(record_from_reply(stamps[i], p, reply, contexts[i]))
        return records
