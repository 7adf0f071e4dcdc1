"""The rule-based analyst: an offline labeler with the LLM's output schema, built from indicators.

Five signals vote -1, 0 or +1: the long trend (price vs SMA 50), the short trend (price vs SMA 20),
momentum (MACD histogram), the 5-bar return, and RSI (with its extremes read as exhaustion).
A clear majority one way is a BUY or SELL with an ATR-sized target (2 ATR) and stop (1 ATR) and a
confidence that grows with the agreement; anything less is a HOLD whose target and stop bracket
the expected range (±2 ATR). Everything is computed on arrays, so tens of thousands of points
take about a second, and every label still passes through `check_label` like an LLM reply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.labeling.context import compact_contexts
from core.labeling.schema import LabelRecord, LabelReply, record_from_reply

SIGNALS = ("trend_50", "trend_20", "macd", "return_5", "rsi")


class RuleLabeler:
    name = "rules"
    future_bars = 0  # uses nothing after the point

    def __init__(
        self,
        horizon: int,
        *,
        target_atr: float = 2.0,
        stop_atr: float = 1.0,
        range_atr: float = 2.0,
        threshold: float = 0.6,
        deadband: float = 0.002,
    ) -> None:
        if horizon < 1 or min(target_atr, stop_atr, range_atr) <= 0 or not 0 < threshold <= 1:
            raise ValueError("horizon >= 1, positive ATR multiples and 0 < threshold <= 1 are required")
        self.horizon = horizon
        self.target_atr = target_atr
        self.stop_atr = stop_atr
        self.range_atr = range_atr
        self.threshold = threshold
        self.deadband = deadband  # trend distances smaller than this (0.2 %) vote 0

    def params(self) -> dict[str, object]:
        return {
            "horizon_bars": self.horizon,
            "target_atr": self.target_atr,
            "stop_atr": self.stop_atr,
            "range_atr": self.range_atr,
            "threshold": self.threshold,
            "signals": list(SIGNALS),
        }

    def votes(self, features: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        """Signal votes, shape (points, 5); a missing indicator votes 0."""

        def col(name: str) -> np.ndarray:
            return features[name].to_numpy(dtype="float64")[positions]

        def sign(values: np.ndarray, band: float = 0.0) -> np.ndarray:
            out = np.where(values > band, 1.0, np.where(values < -band, -1.0, 0.0))
            return np.where(np.isfinite(values), out, 0.0)

        rsi = col("rsi_14")
        rsi_vote = np.select(
            [rsi > 0.75, rsi < 0.25, rsi > 0.55, rsi < 0.45], [-1.0, 1.0, 1.0, -1.0], default=0.0
        )
        rsi_vote = np.where(np.isfinite(rsi), rsi_vote, 0.0)
        return np.column_stack(
            [
                sign(col("sma_dist_50"), self.deadband),
                sign(col("sma_dist_20"), self.deadband),
                sign(col("macd_hist")),
                sign(col("ret_5")),
                rsi_vote,
            ]
        )

    def label(self, bars: pd.DataFrame, features: pd.DataFrame, positions: np.ndarray) -> list[LabelRecord]:
        positions = np.asarray(positions, dtype=np.int64)
        price = bars["close"].to_numpy(dtype="float64")[positions]
        atr = features["atr"].to_numpy(dtype="float64")[positions]
        votes = self.votes(features, positions)
        score = votes.mean(axis=1)
        strength = np.abs(score)
        rec = np.where(score >= self.threshold, "BUY", np.where(score <= -self.threshold, "SELL", "HOLD"))
        # Never wider than 45 % of the price, so a label always passes the 50 % rule.
        cap = 0.45 * price
        up = np.minimum(np.where(rec == "HOLD", self.range_atr, self.target_atr) * atr, cap)
        down = np.minimum(np.where(rec == "HOLD", self.range_atr, self.stop_atr) * atr, cap)
        target = np.where(rec == "SELL", price - up, price + up)
        stop = np.where(rec == "SELL", price + down, price - down)
        # Directional confidence grows with agreement (0.72 at the threshold, 0.9 unanimous); a HOLD
        # is surest (0.8) when the signals cancel out completely.
        confidence = np.where(
            rec == "HOLD",
            0.5 + 0.3 * (1.0 - np.minimum(strength / self.threshold, 1.0)),
            0.45 + 0.45 * strength,
        )
        bias = np.where(score > 0.2, "bullish", np.where(score < -0.2, "bearish", "neutral"))
        n_up, n_down = (votes > 0).sum(axis=1), (votes < 0).sum(axis=1)
        rsi = features["rsi_14"].to_numpy(dtype="float64")[positions] * 100
        trend = features["sma_dist_50"].to_numpy(dtype="float64")[positions] * 100
        contexts = compact_contexts(bars, features, positions)
        stamps = bars.index[positions].to_pydatetime()
        records = []
        for i in range(len(positions)):
            ts = stamps[i]
            p = float(price[i])
            if not np.isfinite(atr[i]) or atr[i] <= 0:
                records.append(
                    LabelRecord(ts, p, "rejected", "ATR is not available at this point", context=contexts[i])
                )
                continue
            reasoning = (
                f"{n_up[i]} of {len(SIGNALS)} signals bullish, {n_down[i]} bearish "
                f"(price {_pct(trend[i])} vs SMA 50, RSI {_num(rsi[i])})"
            )
            reply = LabelReply(
                target=round(float(target[i]), 6),
                stop_loss=round(float(stop[i]), 6),
                confidence=round(float(confidence[i]), 4),
                recommendation=str(rec[i]),  # type: ignore[arg-type]
                bias=str(bias[i]),  # type: ignore[arg-type]
                reasoning=reasoning,
                horizon_bars=self.horizon,
            )
            records.append(record_from_reply(ts, p, reply, contexts[i]))
        return records


def _pct(value: float) -> str:
    return f"{value:+.1f}%" if np.isfinite(value) else "n/a"


def _num(value: float) -> str:
    return f"{value:.0f}" if np.isfinite(value) else "n/a"
