"""The one trade rule: which signals become trades, and how each trade is filled and closed.

The version backtest (and so the gate and the labeler experiment), the paper trader and its
replays (`simulate`, the scheduler's tick) all choose and fill trades here, so the same signals
on the same bars give the same trades everywhere.

Choosing (`take_trades`):
- every BUY (direction > 0) or SELL (< 0) the caller passes is a candidate, in time order; HOLD
  never trades (the paper trader drops calls under its confidence threshold before this);
- one position at a time (`MAX_OPEN`): a signal while a position is open is not taken. Trades of
  one model that overlap share the same move, so ten of them are one bet counted ten times; the
  compounded equity, the drawdown and the hit rate only mean what they say when trades do not
  overlap (demotion and the effective sample count non-overlapping trades for the same reason);
  and a cap of N would need a 1/N sizing that makes the P&L depend on an arbitrary knob;
- a signal on the bar where the previous trade exited may enter: that exit happened inside the
  bar (a barrier) or at its close (a timeout), so the money is free when the new entry fills at
  the same close, as it would be at a broker. Refusing it would drop a call for no market reason;
- a trade whose outcome the bars do not tell yet stays open and blocks later signals; the paper
  trader keeps it open, the backtest does not count it.

Filling (`resolve_exits`):
- a trade opens at the close of its signal's bar and closes at the first later bar that reaches
  its target or its stop (the shared `barrier_hits` primitive);
- a bar that OPENS beyond a barrier fills at its open, not at the barrier: a stop gapped through
  costs the gap (a stop becomes a market order), a target gapped through gains it, even when
  the same bar later reaches the stop too (the open is the bar's first trade, and the resting
  target order fills there; backtesting.py books that bar as a stop);
- when target and stop fall inside the same bar without a gap the order is unknown and the stop
  is assumed (the conservative reading);
- after the horizon without either it closes at that bar's close (timeout).

Costs and sizing: every fill is moved by slippage against the trade and charged commission on
its notional (`TradingCosts`, per asset class from `costs_for`). The backtest puts its whole
equity into each trade, so returns compound; the paper trader books one unit of the instrument.
Either way a trade's net return on its entry fill is the same number.

Everything is vectorised over the signals; the only loop walks the trades taken (see `_chain`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from core.evaluation.costs import NO_COSTS, TradingCosts
from core.labeling.barriers import NOT_HIT, barrier_hits

MAX_OPEN = 1
STILL_OPEN = np.iinfo(np.int64).max  # the exit bar of a position the bars have not decided yet


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


@dataclass(frozen=True)
class Trades:
    """The trades the rule took, one row per trade in entry order (columns as arrays)."""

    signal: np.ndarray  # index of the trade's signal among those passed to `take_trades`
    position: np.ndarray  # entry bar
    direction: np.ndarray  # +1 long, -1 short
    entry_quote: np.ndarray  # close of the entry bar
    entry_fill: np.ndarray  # the entry quote moved by slippage against the trade
    exit_position: np.ndarray  # STILL_OPEN while undecided
    exit_quote: np.ndarray  # the barrier, a gapped bar's open or the timeout close; NaN while open
    exit_fill: np.ndarray  # the exit quote moved by slippage; NaN while open
    reason: np.ndarray  # object array: "target" | "stop" | "timeout" | "open"
    gapped: np.ndarray  # bool: filled at the open of a bar that gapped through the barrier
    fees: np.ndarray  # commission of both sides per unit, in price units; 0 while open
    net_return: np.ndarray  # on the entry fill, after slippage and both commissions; NaN while open

    def __len__(self) -> int:
        return len(self.position)

    @property
    def closed(self) -> np.ndarray:
        return self.reason != "open"

    def take(self, mask: np.ndarray) -> Trades:
        return Trades(*(getattr(self, f.name)[mask] for f in fields(self)))

    @classmethod
    def none(cls) -> Trades:
        """No trades at all (nothing to follow)."""
        ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0)
        columns = {f.name: floats for f in fields(cls)}
        columns.update(signal=ints, position=ints, direction=ints, exit_position=ints)
        columns.update(reason=np.zeros(0, dtype=object), gapped=np.zeros(0, dtype=bool))
        return cls(**columns)


def take_trades(
    bars: pd.DataFrame,
    positions: np.ndarray,
    direction: np.ndarray,
    target: np.ndarray,
    stop: np.ndarray,
    horizon: np.ndarray | int,
    costs: TradingCosts = NO_COSTS,
    *,
    busy: Iterable[int] = (),
    max_open: int = MAX_OPEN,
) -> Trades:
    """The trades the rule takes from signals at bar `positions` (in time order) and how they end.

    `busy` holds the exit bars of positions opened before these signals (`STILL_OPEN` for those
    still undecided): they count against `max_open` while they last. Every product path uses
    `MAX_OPEN`; a larger cap is only for what-if replays.
    """
    if max_open < 1:
        raise ValueError("max_open must be at least 1")
    positions = np.asarray(positions, dtype=np.int64)
    direction = np.asarray(direction)
    if np.any(np.diff(positions) < 0):
        raise ValueError("signals must be in time order")
    horizons = np.broadcast_to(np.asarray(horizon, dtype=np.int64), positions.shape)
    candidates = np.flatnonzero(direction != 0)
    at = positions[candidates]
    exits = resolve_exits(
        bars,
        at,
        direction[candidates],
        np.asarray(target, dtype="float64")[candidates],
        np.asarray(stop, dtype="float64")[candidates],
        horizons[candidates],
    )
    exit_at = np.where(exits.complete, exits.position, STILL_OPEN)
    busy = [int(b) for b in busy]
    if max_open == 1:
        chosen = _chain(at, exit_at, max(busy, default=-1))
    else:
        chosen = _capped(at, exit_at, busy, max_open)
    signal = candidates[chosen]
    sign = np.where(direction[signal] < 0, -1, 1)
    closed = exits.complete[chosen]
    entry_quote = bars["close"].to_numpy(dtype="float64")[positions[signal]]
    entry_fill = costs.entry_fill(entry_quote, sign)
    exit_quote = np.where(closed, exits.price[chosen], np.nan)
    exit_fill = costs.exit_fill(exit_quote, sign)
    return Trades(
        signal=signal,
        position=positions[signal],
        direction=sign,
        entry_quote=entry_quote,
        entry_fill=entry_fill,
        exit_position=exit_at[chosen],
        exit_quote=exit_quote,
        exit_fill=exit_fill,
        reason=exits.reason[chosen],
        gapped=exits.gapped[chosen] & closed,
        fees=np.where(closed, costs.fees(entry_fill, exit_fill), 0.0),
        net_return=costs.net_return(entry_quote, exit_quote, sign),
    )


def _chain(at: np.ndarray, exit_at: np.ndarray, free_from: int) -> np.ndarray:
    """One position at a time: from the first signal at or after `free_from`, each taken trade's
    successor is the first signal at or after its exit bar. The successors are one vectorised
    search; the walk then visits only the trades taken, O(trades) steps on plain ints. A pointer
    chase has no numpy primitive (doubling would cost O(signals log signals)), and the walk takes
    milliseconds for 50,000 trades, so a compiled loop would not pay for its dependency."""
    successor = np.searchsorted(at, exit_at, side="left").tolist()
    k, m, taken = int(np.searchsorted(at, free_from, side="left")), len(at), []
    while k < m:
        taken.append(k)
        k = successor[k]
    return np.asarray(taken, dtype=np.int64)


def _capped(at: np.ndarray, exit_at: np.ndarray, busy: list[int], max_open: int) -> np.ndarray:
    """Up to `max_open` positions at once (what-if replays only): a heap of the open exits."""
    open_exits = list(busy)
    heapq.heapify(open_exits)
    taken = []
    for k, (p, x) in enumerate(zip(at.tolist(), exit_at.tolist(), strict=True)):
        while open_exits and open_exits[0] <= p:
            heapq.heappop(open_exits)
        if len(open_exits) < max_open:
            taken.append(k)
            heapq.heappush(open_exits, x)
    return np.asarray(taken, dtype=np.int64)
