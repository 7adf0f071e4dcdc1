"""Paper trades from signals: entries above a confidence threshold, exits on target, stop or timeout.

Pure functions over a signal frame and the bars, so the replay (`simulate`), the live tick and the
tests share one set of rules, and the exits are the version backtest's own (`resolve_exits`):
- a BUY or SELL whose (calibrated) confidence reaches the threshold opens one unit at the bar's
  close, filled with slippage against it;
- it closes at the target or the stop, whichever a later bar reaches first (both inside one bar
  counts as the stop: the order within a bar is unknown, and assuming the worse keeps P&L honest);
  a bar that opens beyond the barrier fills at its open (a stop gapped through costs the gap);
- after `horizon` bars without either it closes at that bar's close (timeout);
- a position whose horizon extends past the last bar stays open until more bars arrive;
- the exit is filled with slippage too, and commission on both sides is recorded as `fees`.
At most `max_open` positions per bot are open at once; signals beyond that are not taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.backtest import resolve_exits
from core.evaluation.costs import NO_COSTS, TradingCosts


@dataclass(frozen=True)
class PaperTrade:
    position: int  # bar index of the entry
    entry_time: pd.Timestamp
    entry_price: float
    recommendation: str
    target: float
    stop_loss: float
    confidence: float
    predicted_return: float
    exit_position: int | None = None
    exit_time: pd.Timestamp | None = None
    exit_price: float | None = None
    exit_reason: str | None = None  # target | stop | timeout; None while open
    fees: float = 0.0  # commission of both sides per unit, in price units (known once closed)

    @property
    def closed(self) -> bool:
        return self.exit_reason is not None


def resolve_exit(
    bars: pd.DataFrame, position: int, recommendation: str, target: float, stop: float, horizon: int
) -> tuple[int, float, str] | None:
    """(exit bar, exit price, reason) for a position opened at `position`, or None while still open."""
    exits = resolve_exits(
        bars,
        np.array([position]),
        np.array([-1 if recommendation == "SELL" else 1]),
        np.array([target]),
        np.array([stop]),
        horizon,
    )
    if not exits.complete[0]:
        return None
    return int(exits.position[0]), float(exits.price[0]), str(exits.reason[0])


def close_position(
    bars: pd.DataFrame,
    position: int,
    recommendation: str,
    target: float,
    stop: float,
    horizon: int,
    *,
    entry_price: float,
    costs: TradingCosts = NO_COSTS,
) -> tuple[int, float, str, float] | None:
    """(exit bar, exit fill after slippage, reason, fees of both sides) of an open position, or None."""
    exit_ = resolve_exit(bars, position, recommendation, target, stop, horizon)
    if exit_ is None:
        return None
    exit_pos, quote, reason = exit_
    sign = -1 if recommendation == "SELL" else 1
    fill = float(costs.exit_fill(quote, sign))
    return exit_pos, fill, reason, float(costs.fees(entry_price, fill))


def _taken(
    bars: pd.DataFrame, signals: pd.DataFrame, start: int, min_confidence: float
) -> tuple[pd.DataFrame, np.ndarray]:
    """The BUY/SELL signals at or after `start` whose confidence reaches the threshold, and their bars."""
    positions = bars.index.get_indexer(signals.index)
    keep = (positions >= start) & (positions >= 0)
    signals, positions = signals[keep], positions[keep]
    wanted = (
        signals["recommendation"].isin(["BUY", "SELL"]) & (signals["confidence"] >= min_confidence)
    ).to_numpy()
    return signals[wanted], positions[wanted]


def _trade(
    bars: pd.DataFrame,
    ts: pd.Timestamp,
    row: pd.Series,
    pos: int,
    exit_: tuple[int, float, str] | None,
    costs: TradingCosts,
) -> PaperTrade:
    """One trade entered at bar `pos`'s close, filled with slippage, closed at `exit_` if decided."""
    sign = -1 if row["recommendation"] == "SELL" else 1
    entry = float(costs.entry_fill(float(bars["close"].iloc[pos]), sign))
    trade = PaperTrade(
        position=int(pos),
        entry_time=ts,
        entry_price=entry,
        recommendation=str(row["recommendation"]),
        target=float(row["target"]),
        stop_loss=float(row["stop_loss"]),
        confidence=float(row["confidence"]),
        predicted_return=float(row.get("predicted_return", np.nan)),
    )
    if exit_ is None:
        return trade
    exit_pos, quote, reason = exit_
    fill = float(costs.exit_fill(quote, sign))
    closed = {
        "exit_position": exit_pos,
        "exit_time": bars.index[exit_pos],
        "exit_price": fill,
        "exit_reason": reason,
        "fees": float(costs.fees(entry, fill)),
    }
    return PaperTrade(**{**trade.__dict__, **closed})


def plan_trades(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    start: int,
    horizon: int,
    min_confidence: float,
    max_open: int = 10,
    existing_exits: list[int] | None = None,
    costs: TradingCosts = NO_COSTS,
) -> list[PaperTrade]:
    """Trades opened at bar positions >= `start`; `signals` is indexed by bar time (a subset is fine).

    `existing_exits` are the exit bars of positions opened earlier (a very large number for those
    still open), so they count against `max_open` for as long as they last.
    """
    signals, positions = _taken(bars, signals, start, min_confidence)
    exits = resolve_exits(
        bars,
        positions,
        np.where(signals["recommendation"] == "SELL", -1, 1),
        signals["target"].to_numpy(),
        signals["stop_loss"].to_numpy(),
        horizon,
    )
    trades: list[PaperTrade] = []
    still_open = np.iinfo(np.int64).max
    open_exits = list(existing_exits or [])  # exit bars of open positions (still_open while unresolved)
    for k, ((ts, row), pos) in enumerate(zip(signals.iterrows(), positions, strict=True)):
        open_exits = [e for e in open_exits if e > pos]
        if len(open_exits) >= max_open:
            continue
        exit_ = (
            (int(exits.position[k]), float(exits.price[k]), str(exits.reason[k]))
            if exits.complete[k]
            else None
        )
        trade = _trade(bars, ts, row, int(pos), exit_, costs)
        open_exits.append(still_open if trade.exit_position is None else trade.exit_position)
        trades.append(trade)
    return trades
