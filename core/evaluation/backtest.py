"""The one exit rule of every simulated trade, and following signals like a broker would fill them.

Exits (`resolve_exits`, shared by the version backtest and the paper trader):
- a trade opens at the close of its bar and closes at the first later bar that reaches its
  target or its stop (the shared `barrier_hits` primitive);
- a bar that OPENS beyond a barrier fills at its open, not at the barrier: a stop gapped through
  costs the gap (a stop becomes a market order), a target gapped through gains it;
- when target and stop fall inside the same bar without a gap the order is unknown and the stop
  is assumed (the conservative reading);
- after the horizon without either it closes at that bar's close (timeout).

Following (`follow_signals`): one position at a time, every fill moved by slippage and charged
commission (`TradingCosts`), and the open position marked to market at every bar's close, so the
equity curve and the drawdown see the losses a trade sits through, not only where it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.evaluation.costs import NO_COSTS, TradingCosts
from core.evaluation.stats import downsample_index, max_drawdown
from core.labeling.barriers import NOT_HIT, barrier_hits


@dataclass(frozen=True)
class Backtest:
    returns: np.ndarray  # per trade after costs, in time order
    equity_curve: list[list[object]]  # [[iso time, equity]] at bar closes, marked to market, from 1.0
    max_drawdown: float  # largest fall of the marked-to-market equity from its running peak
    bar_equity: np.ndarray = field(repr=False)  # equity at every bar of the followed span
    gap_fills: int = 0  # exits filled at a bar's open because the bar gapped through a barrier
    fees: float = 0.0  # commission paid, as a fraction of starting equity

    @property
    def trades(self) -> int:
        return len(self.returns)

    @property
    def pnl(self) -> float:
        """Compounded return of the whole followed period after costs (0.05 = +5 %)."""
        return float(self.bar_equity[-1] - 1.0) if len(self.bar_equity) else 0.0

    def bar_returns(self) -> np.ndarray:
        """Marked-to-market return of every bar of the span, from the starting 1.0 (for bootstraps)."""
        eq = np.r_[1.0, self.bar_equity]
        return eq[1:] / eq[:-1] - 1.0


@dataclass(frozen=True)
class Exits:
    """How each trade ends: its exit bar, quoted exit price and reason ("open" while undecided)."""

    position: np.ndarray
    price: np.ndarray  # NaN for an open trade with no later bar at all
    reason: np.ndarray  # object array: "target" | "stop" | "timeout" | "open"
    gapped: np.ndarray  # bool: filled at the open of a bar that gapped through the barrier

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
    """Exit of a trade opened at the close of each position (long for direction >= 0, else short)."""
    positions = np.asarray(positions, dtype=np.int64)
    opens = bars["open"].to_numpy(dtype="float64")
    short = np.asarray(direction) < 0
    target, stop = np.asarray(target, dtype="float64"), np.asarray(stop, dtype="float64")
    upper, lower = np.where(short, stop, target), np.where(short, target, stop)
    hits = barrier_hits(
        bars["high"].to_numpy(dtype="float64"),
        bars["low"].to_numpy(dtype="float64"),
        bars["close"].to_numpy(dtype="float64"),
        positions,
        upper,
        lower,
        horizon,
    )
    target_at = np.where(short, hits.down_at, hits.up_at)
    stop_at = np.where(short, hits.up_at, hits.down_at)
    touched = np.minimum(target_at, stop_at)
    hit = touched != NOT_HIT
    first_bar = np.where(hit, positions + np.where(hit, touched, 0), 0)
    bar_open = opens[first_bar] if len(opens) else np.zeros(len(positions))
    # A bar that opens beyond a barrier fills there at its open, whatever it touches later.
    gap_target = hit & (target_at == touched) & np.where(short, bar_open <= target, bar_open >= target)
    gap_stop = hit & (stop_at == touched) & np.where(short, bar_open >= stop, bar_open <= stop)
    stop_first = hit & ~gap_target & (stop_at == touched)  # inside one bar without a gap: the stop
    target_first = hit & ~stop_first
    timeout = ~hit & (hits.available >= hits.horizon)
    reason = np.full(len(positions), "open", dtype=object)
    reason[timeout] = "timeout"
    reason[target_first] = "target"
    reason[stop_first] = "stop"
    gapped = gap_target | gap_stop
    offset = np.where(hit, touched, hits.available)
    price = np.where(
        gapped, bar_open, np.where(stop_first, stop, np.where(target_first, target, hits.end_close))
    )
    return Exits(positions + offset, price, reason, gapped)


def follow_signals(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray | int,
    costs: TradingCosts = NO_COSTS,
) -> Backtest:
    """Trade the non-HOLD signals in time order, one position at a time (positions sorted by time).

    The followed span runs from the first position to the last of them (or the last exit); a trade
    whose outcome the bars do not tell yet is not taken.
    """
    positions = np.asarray(positions, dtype=np.int64)
    direction = np.asarray(direction)
    if len(positions) == 0:
        return Backtest(np.zeros(0), [], 0.0, np.ones(1))
    close = bars["close"].to_numpy(dtype="float64")
    active = np.flatnonzero(direction != 0)
    horizon_arr = np.broadcast_to(np.asarray(horizon, dtype=np.int64), (len(positions),))
    exits = resolve_exits(
        bars, positions[active], direction[active], target[active], stop[active], horizon_arr[active]
    )
    start = int(positions[0])
    last_exit = int(exits.position[exits.complete].max()) if exits.complete.any() else start
    end = max(int(positions[-1]), last_exit)
    equity = np.ones(end - start + 1)
    level, flat_after, gaps, fees = 1.0, -1, 0, 0.0
    taken: list[float] = []
    for k in np.flatnonzero(exits.complete):
        p, x = int(positions[active[k]]), int(exits.position[k])
        if p <= flat_after:
            continue
        sign = -1.0 if direction[active[k]] < 0 else 1.0
        entry = float(costs.entry_fill(close[p], sign))
        exit_fill = float(costs.exit_fill(exits.price[k], sign))
        # Marked to market at each close while open; the entry commission is paid at once.
        equity[p - start : x - start] = level * (1.0 + sign * (close[p:x] / entry - 1.0) - costs.commission)
        net = float(costs.net_return(close[p], exits.price[k], sign))
        fees += level * costs.commission * (1.0 + exit_fill / entry)
        level *= 1.0 + net
        equity[x - start :] = level
        taken.append(net)
        gaps += int(exits.gapped[k])
        flat_after = x
    times = pd.DatetimeIndex(bars.index)[start : end + 1]
    curve = [[times[i].isoformat(), round(float(equity[i]), 6)] for i in downsample_index(len(equity))]
    return Backtest(
        np.asarray(taken, dtype="float64"),
        curve,
        max_drawdown(np.r_[1.0, equity]),
        equity,
        gaps,
        fees,
    )
