"""The calls a version's walk-forward fold models made on their own out-of-sample bars.

Each fold's model learned only from labels whose horizon (plus an embargo) ended before its
period, then called every bar of that period. Those calls are stored in the version's artifact
(`walkforward.npz`), so a replay can trade the version's way of training on bars that the model
making each call never saw, even when the version's own model (fitted on all labels) has seen
every stored bar. They are the very calls the version's metrics were computed from.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from core.bots.base import Predictions
from core.bots.dataset import Inputs
from core.bots.signal import BIAS, signal_frame

CALLS_FILE = "walkforward.npz"
_COLUMNS = ("current_price", "target", "stop_loss", "confidence", "predicted_return")
_CODES = {"SELL": -1, "HOLD": 0, "BUY": 1}
_NAMES = {v: k for k, v in _CODES.items()}


def encode_calls(predictions: Predictions, inputs: Inputs, fold: np.ndarray) -> bytes:
    """The folds' signals at every evaluated bar, as a compressed NumPy archive."""
    frame = signal_frame(predictions, inputs)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        ts=frame.index.as_unit("ns").asi8,
        direction=frame["recommendation"].map(_CODES).to_numpy(dtype=np.int8),
        fold=np.asarray(fold, dtype=np.int16),
        **{c: frame[c].to_numpy(dtype="float64") for c in _COLUMNS},
    )
    return buffer.getvalue()


def decode_calls(data: bytes) -> pd.DataFrame:
    """The stored calls as a signal frame indexed by bar time (raw model confidence, plus `fold`)."""
    with np.load(io.BytesIO(data)) as archive:
        index = pd.DatetimeIndex(pd.to_datetime(archive["ts"], utc=True), name="ts")
        rec = [_NAMES[int(d)] for d in archive["direction"]]
        frame = pd.DataFrame({c: archive[c] for c in _COLUMNS}, index=index)
        frame.insert(0, "recommendation", rec)
        frame["bias"] = [BIAS[r] for r in rec]
        frame["fold"] = archive["fold"].astype(np.int64)
    return frame
