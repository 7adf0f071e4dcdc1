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


@dataclass(frozen=True)
class Exits:
    """How each trade ends: its exit bar, price and reason ("open" while the bars do not tell yet)."""

    position: np.ndarray
    price: np.ndarray  # NaN for an open trade with no later bar at all
    reason: np.ndarray  # object array: "target" | "stop" | "timeout" | "open"

    @property
    def complete(self) -> np.ndarray:
        return self.reason != "open"


def resolve_exits(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray | int,
) -> Exits:
    """Exit of a trade opened at the close of each position (long for direction >= 0, else short).

    The one place that turns first touches into trade exits: the held-out backtest and the paper
    trader both use it, so a version's metrics and its paper record follow the same rules.
    """
    high = bars["high"].to_numpy(dtype="float64")
    low = bars["low"].to_numpy(dtype="float64")
    close = bars["close"].to_numpy(dtype="float64")
    short = np.asarray(direction) < 0
    target, stop = np.asarray(target, dtype="float64"), np.asarray(stop, dtype="float64")
    upper, lower = np.where(short, stop, target), np.where(short, target, stop)
    hits = barrier_hits(high, low, close, positions, upper, lower, horizon)
    target_at = np.where(short, hits.down_at, hits.up_at)
    stop_at = np.where(short, hits.up_at, hits.down_at)
    stop_first = (stop_at != NOT_HIT) & (stop_at <= target_at)  # inside one bar: the stop
    target_first = (target_at != NOT_HIT) & ~stop_first
    timeout = ~stop_first & ~target_first & (hits.available >= hits.horizon)
    reason = np.full(len(positions), "open", dtype=object)
    reason[timeout] = "timeout"
    reason[target_first] = "target"
    reason[stop_first] = "stop"
    offset = np.where(stop_first, stop_at, np.where(target_first, target_at, hits.available))
    price = np.where(stop_first, stop, np.where(target_first, target, hits.end_close))
    return Exits(np.asarray(positions) + offset, price, reason)


def trade_outcomes(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every point: the trade's return, its exit bar position, and whether the outcome is known."""
    exits = resolve_exits(bars, positions, direction, target, stop, horizon)
    price = bars["close"].to_numpy(dtype="float64")[positions]
    exit_price = np.where(np.isfinite(exits.price), exits.price, price)
    signed = np.where(np.asarray(direction) < 0, -1.0, 1.0)
    return signed * (exit_price / price - 1.0), exits.position, exits.complete


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
