"""Following signals with their own targets and stops over the held-out bars.

One position at a time: a BUY or SELL signal opens a trade at the close of its bar when no trade
is open; the trade closes at the first touch of its target or stop (the shared `barrier_hits`
primitive), or at the close after the label horizon. When target and stop fall inside the same
bar the order is unknown and the stop is assumed (the conservative reading). No costs are charged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.stats import downsample, max_drawdown
from core.labeling.barriers import NOT_HIT, barrier_hits


@dataclass(frozen=True)
class Backtest:
    returns: np.ndarray  # per trade, in time order
    equity_curve: list[list[object]]  # [[iso time, equity]], equity starting at 1.0
    max_drawdown: float

    @property
    def trades(self) -> int:
        return len(self.returns)

    @property
    def pnl(self) -> float:
        """Compounded return of the whole held-out period (0.05 = +5 %)."""
        return float(np.prod(1.0 + self.returns) - 1.0) if len(self.returns) else 0.0


def trade_outcomes(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every point: the trade's return, its exit bar position, and whether the outcome is known."""
    high = bars["high"].to_numpy(dtype="float64")
    low = bars["low"].to_numpy(dtype="float64")
    close = bars["close"].to_numpy(dtype="float64")
    price = close[positions]
    short = direction < 0
    upper = np.where(short, stop, target)
    lower = np.where(short, target, stop)
    hits = barrier_hits(high, low, close, positions, upper, lower, horizon)
    up_first = hits.up_at < hits.down_at
    down_first = hits.down_at < hits.up_at
    same_bar = hits.ambiguous
    exit_price = np.where(np.isfinite(hits.end_close), hits.end_close, price)
    exit_price = np.where(up_first, upper, exit_price)
    exit_price = np.where(down_first, lower, exit_price)
    exit_price = np.where(same_bar, stop, exit_price)
    signed = np.where(short, -1.0, 1.0)
    returns = signed * (exit_price / price - 1.0)
    first_touch = np.minimum(hits.up_at, hits.down_at)
    exit_offset = np.where(first_touch != NOT_HIT, first_touch, hits.available)
    return returns, positions + exit_offset, hits.complete


def follow_signals(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray,
) -> Backtest:
    """Trade the non-HOLD signals in time order, one position at a time (points sorted by time)."""
    times = pd.DatetimeIndex(bars.index)
    active = np.flatnonzero(direction != 0)
    returns, exits, complete = trade_outcomes(
        bars, positions[active], direction[active], target[active], stop[active], horizon[active]
    )
    taken: list[float] = []
    curve: list[tuple[str, float]] = []
    if len(positions):
        curve.append((times[positions[0]].isoformat(), 1.0))
    equity, flat_after = 1.0, -1
    for k in range(len(active)):
        p = int(positions[active[k]])
        if not complete[k] or p <= flat_after:
            continue
        taken.append(float(returns[k]))
        equity *= 1.0 + float(returns[k])
        flat_after = int(exits[k])
        curve.append((times[min(flat_after, len(times) - 1)].isoformat(), round(equity, 6)))
    values = np.array([v for _, v in curve]) if curve else np.array([1.0])
    return Backtest(np.asarray(taken, dtype="float64"), downsample(curve), max_drawdown(values))
