"""A bot's call at one bar, shaped like a label: recommendation, target, stop, confidence, bias.

Prices follow the label rules of CONTRACTS §2: a BUY has stop < price < target, a SELL has
target < price < stop. A HOLD carries the band it expects the price to stay in (target above,
stop below), as hindsight HOLD labels do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from core.bots.base import Predictions
from core.bots.dataset import Inputs

BIAS = {"BUY": "bullish", "SELL": "bearish", "HOLD": "neutral"}


@dataclass(frozen=True)
class Signal:
    bot: str
    as_of: datetime
    current_price: float
    recommendation: str
    target: float
    stop_loss: float
    confidence: float
    bias: str
    predicted_return: float
    version_id: int | None = None
    raw_confidence: float | None = None  # the model's own confidence; `confidence` is calibrated

    def as_json(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "version_id": self.version_id,
            "as_of": self.as_of.isoformat(),
            "current_price": round(self.current_price, 6),
            "recommendation": self.recommendation,
            "target": round(self.target, 6),
            "stop_loss": round(self.stop_loss, 6),
            "confidence": round(self.confidence, 4),
            "raw_confidence": None if self.raw_confidence is None else round(self.raw_confidence, 4),
            "bias": self.bias,
            "predicted_return": round(self.predicted_return, 6),
        }


def price_levels(
    direction: np.ndarray, price: np.ndarray, target_dist: np.ndarray, stop_dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Target and stop prices: above/below the price for a BUY (and HOLD), mirrored for a SELL."""
    short = direction < 0
    target = np.where(short, price * (1.0 - target_dist), price * (1.0 + target_dist))
    stop = np.where(short, price * (1.0 + stop_dist), price * (1.0 - stop_dist))
    return target, stop


def signal_frame(predictions: Predictions, inputs: Inputs) -> pd.DataFrame:
    """All points' signals at once, indexed by bar time (the batch form used by replays)."""
    target, stop = price_levels(
        predictions.direction, inputs.prices, predictions.target_dist, predictions.stop_dist
    )
    rec = predictions.recommendation
    return pd.DataFrame(
        {
            "recommendation": rec,
            "current_price": inputs.prices,
            "target": target,
            "stop_loss": stop,
            "confidence": predictions.confidence,
            "bias": [BIAS[r] for r in rec],
            "predicted_return": predictions.expected_return,
        },
        index=pd.DatetimeIndex(inputs.times, name="ts"),
    )


def signal_from_row(bot: str, ts: pd.Timestamp, row: pd.Series, version_id: int | None = None) -> Signal:
    return Signal(
        bot=bot,
        as_of=ts.to_pydatetime(),
        current_price=float(row["current_price"]),
        recommendation=str(row["recommendation"]),
        target=float(row["target"]),
        stop_loss=float(row["stop_loss"]),
        confidence=float(row["confidence"]),
        bias=str(row["bias"]),
        predicted_return=float(row["predicted_return"]),
        version_id=version_id,
        raw_confidence=float(row["raw_confidence"]) if "raw_confidence" in row else None,
    )
