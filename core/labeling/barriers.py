"""First-touch barrier arithmetic, shared by hindsight labels, label quality and signal backtests.

Given an entry at the close of bar p, an upper and a lower price and a horizon of h bars, find
the first later bar (p+1 .. p+h) whose high reaches the upper price and the first whose low
reaches the lower one. Everything is vectorised over points; nothing reads bar p's own range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_HIT = np.iinfo(np.int64).max


@dataclass(frozen=True)
class BarrierHits:
    up_at: np.ndarray  # bars after entry when the upper price was first reached (NOT_HIT if never)
    down_at: np.ndarray  # same for the lower price
    available: np.ndarray  # future bars that exist for each point, capped at its horizon
    horizon: np.ndarray  # the horizon asked for each point
    end_close: np.ndarray  # close at the vertical barrier (or the last available bar); NaN if none

    @property
    def complete(self) -> np.ndarray:
        """True where the outcome is known: a barrier was hit, or the whole horizon has passed."""
        hit = (self.up_at != NOT_HIT) | (self.down_at != NOT_HIT)
        return hit | (self.available >= self.horizon)

    @property
    def ambiguous(self) -> np.ndarray:
        """Both prices reached inside the same bar: the order within the bar is unknown."""
        return (self.up_at != NOT_HIT) & (self.up_at == self.down_at)

    def first(self) -> np.ndarray:
        """+1 upper first, -1 lower first, 0 neither (or same bar); callers decide ambiguity."""
        out = np.zeros(len(self.up_at), dtype=np.int8)
        out[self.up_at < self.down_at] = 1
        out[self.down_at < self.up_at] = -1
        return out


def barrier_hits(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    positions: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    horizon: np.ndarray | int,
) -> BarrierHits:
    positions = np.asarray(positions, dtype=np.int64)
    n, m = len(close), len(positions)
    horizon = np.broadcast_to(np.asarray(horizon, dtype=np.int64), (m,)).copy()
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return BarrierHits(empty, empty, empty, empty, np.zeros(0))
    h_max = int(horizon.max())
    offsets = np.arange(1, h_max + 1)
    idx = positions[:, None] + offsets[None, :]
    in_range = (idx < n) & (offsets[None, :] <= horizon[:, None])
    safe = np.where(in_range, idx, 0)
    fut_high = np.where(in_range, high[safe], -np.inf)
    fut_low = np.where(in_range, low[safe], np.inf)
    up_hit = fut_high >= upper[:, None]
    down_hit = fut_low <= lower[:, None]
    up_at = np.where(up_hit.any(axis=1), up_hit.argmax(axis=1) + 1, NOT_HIT).astype(np.int64)
    down_at = np.where(down_hit.any(axis=1), down_hit.argmax(axis=1) + 1, NOT_HIT).astype(np.int64)
    available = np.minimum(np.maximum(n - 1 - positions, 0), horizon)
    end_idx = positions + available
    end_close = np.where(available > 0, close[np.minimum(end_idx, n - 1)], np.nan)
    return BarrierHits(up_at, down_at, available, horizon, end_close)
