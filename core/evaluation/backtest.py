"""Following signals like a broker would fill them: the trades of the one trade rule, as an account.

Which signals become trades and how each is filled and closed is `core.evaluation.trade_rule`
(one position at a time, gap fills, both barriers in one bar read as the stop, timeouts, costs);
this module turns those trades into the account they make: per-trade returns, the equity marked
to market at every bar's close (so the curve and the drawdown see the losses a trade sits
through, not only where it ends), gap fills and the commission paid. Linear in bars plus
signals: no pass over the curve per trade.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.evaluation.costs import NO_COSTS, TradingCosts
from core.evaluation.stats import downsample_index, max_drawdown
from core.evaluation.trade_rule import Exits, Trades, resolve_exits, take_trades

__all__ = ["Backtest", "Exits", "follow_signals", "resolve_exits"]  # the exits live in trade_rule


@dataclass(frozen=True)
class Backtest:
    returns: np.ndarray  # per trade after costs, in time order
    equity_curve: list[list[object]]  # [[iso time, equity]] at bar closes, marked to market, from 1.0
    max_drawdown: float  # largest fall of the marked-to-market equity from its running peak
    bar_equity: np.ndarray = field(repr=False)  # equity at every bar of the followed span
    gap_fills: int = 0  # exits filled at a bar's open because the bar gapped through a barrier
    fees: float = 0.0  # commission paid, as a fraction of starting equity
    ledger: Trades = field(default_factory=Trades.none, repr=False)  # the closed trades taken, in order

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


def follow_signals(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray | int,
    costs: TradingCosts = NO_COSTS,
) -> Backtest:
    """Trade the non-HOLD signals at `positions` (in time order) by the one trade rule.

    The followed span runs from the first position to the last of them (or the last exit); a trade
    whose outcome the bars do not tell yet is not counted (it still blocks later signals).
    """
    positions = np.asarray(positions, dtype=np.int64)
    if len(positions) == 0:
        return Backtest(np.zeros(0), [], 0.0, np.ones(1))
    done = take_trades(bars, positions, direction, target, stop, horizon, costs)
    done = done.take(done.closed)
    start = int(positions[0])
    end = max(int(positions[-1]), int(done.exit_position.max()) if len(done) else start)
    equity = _marked_equity(bars["close"].to_numpy(dtype="float64"), done, start, end, costs.commission)
    before = np.r_[1.0, np.cumprod(1.0 + done.net_return)[:-1]]
    fees = float(np.sum(before * costs.commission * (1.0 + done.exit_fill / done.entry_fill)))
    times = pd.DatetimeIndex(bars.index)[start : end + 1]
    curve = [[times[i].isoformat(), round(float(equity[i]), 6)] for i in downsample_index(len(equity))]
    return Backtest(
        done.net_return.astype("float64"),
        curve,
        max_drawdown(np.r_[1.0, equity]),
        equity,
        int(done.gapped.sum()),
        fees,
        done,
    )


def _marked_equity(close: np.ndarray, done: Trades, start: int, end: int, commission: float) -> np.ndarray:
    """Equity at every bar of [start, end] from 1.0, in one vectorised pass over the bars.

    Trades do not overlap, so each bar belongs to the last trade entered at or before it: inside
    that trade (before its exit bar) it is marked to market on the entry fill with the entry
    commission paid at once; from the exit bar on it is the equity that trade left.
    """
    span = np.arange(start, end + 1)
    if len(done) == 0:
        return np.ones(len(span))
    growth = np.cumprod(1.0 + done.net_return)
    level_before = np.r_[1.0, growth[:-1]]
    entered = np.zeros(len(span), dtype=np.int64)
    entered[done.position - start] = 1
    k = np.cumsum(entered) - 1  # the last trade entered at or before each bar (-1: none yet)
    last = np.maximum(k, 0)
    equity = np.where(k >= 0, growth[last], 1.0)
    inside = np.flatnonzero((k >= 0) & (span < done.exit_position[last]))
    t = k[inside]
    moved = done.direction[t] * (close[span[inside]] / done.entry_fill[t] - 1.0)
    equity[inside] = level_before[t] * (1.0 + moved - commission)
    return equity
