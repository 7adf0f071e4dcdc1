"""Paper trades from signals: entries above a confidence threshold, exits on target, stop or timeout.

Pure functions over a signal frame and the bars, so the replay (`simulate`), the live tick and the
tests share one set of rules:
- a BUY or SELL whose confidence reaches the threshold opens one unit at the bar's close;
- it closes at the target or the stop, whichever a later bar reaches first (both inside one bar
  counts as the stop: the order within a bar is unknown, and assuming the worse keeps P&L honest);
- after `horizon` bars without either it closes at that bar's close (timeout);
- a position whose horizon extends past the last bar stays open until more bars arrive.
At most `max_open` positions per bot are open at once; signals beyond that are not taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.labeling.barriers import NOT_HIT, barrier_hits


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

    @property
    def closed(self) -> bool:
        return self.exit_reason is not None


def resolve_exit(
    bars: pd.DataFrame, position: int, recommendation: str, target: float, stop: float, horizon: int
) -> tuple[int, float, str] | None:
    """(exit bar, exit price, reason) for a position opened at `position`, or None while still open."""
    high = bars["high"].to_numpy(dtype="float64")
    low = bars["low"].to_numpy(dtype="float64")
    close = bars["close"].to_numpy(dtype="float64")
    long = recommendation == "BUY"
    upper, lower = (target, stop) if long else (stop, target)
    hits = barrier_hits(high, low, close, np.array([position]), np.array([upper]), np.array([lower]), horizon)
    up_at, down_at = int(hits.up_at[0]), int(hits.down_at[0])
    target_at, stop_at = (up_at, down_at) if long else (down_at, up_at)
    if stop_at != NOT_HIT and stop_at <= target_at:
        return position + stop_at, stop, "stop"
    if target_at != NOT_HIT:
        return position + target_at, target, "target"
    if hits.available[0] >= horizon:
        return position + horizon, float(close[position + horizon]), "timeout"
    return None


def plan_trades(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    start: int,
    horizon: int,
    min_confidence: float,
    max_open: int = 10,
    existing_exits: list[int] | None = None,
) -> list[PaperTrade]:
    """Trades opened at bar positions >= `start`; `signals` is indexed by bar time (a subset is fine).

    `existing_exits` are the exit bars of positions opened earlier (a very large number for those
    still open), so they count against `max_open` for as long as they last.
    """
    positions = bars.index.get_indexer(signals.index)
    keep = (positions >= start) & (positions >= 0)
    signals, positions = signals[keep], positions[keep]
    wanted = signals["recommendation"].isin(["BUY", "SELL"]) & (signals["confidence"] >= min_confidence)
    trades: list[PaperTrade] = []
    still_open = np.iinfo(np.int64).max
    open_exits = list(existing_exits or [])  # exit bars of open positions (still_open while unresolved)
    for (ts, row), pos in zip(signals[wanted].iterrows(), positions[wanted.to_numpy()], strict=True):
        open_exits = [e for e in open_exits if e > pos]
        if len(open_exits) >= max_open:
            continue
        exit_ = resolve_exit(bars, int(pos), row["recommendation"], row["target"], row["stop_loss"], horizon)
        trade = PaperTrade(
            position=int(pos),
            entry_time=ts,
            entry_price=float(bars["close"].iloc[pos]),
            recommendation=str(row["recommendation"]),
            target=float(row["target"]),
            stop_loss=float(row["stop_loss"]),
            confidence=float(row["confidence"]),
            predicted_return=float(row.get("predicted_return", np.nan)),
        )
        if exit_ is not None:
            exit_pos, exit_price, reason = exit_
            trade = PaperTrade(
                **{**trade.__dict__, "exit_position": exit_pos, "exit_time": bars.index[exit_pos],
                   "exit_price": float(exit_price), "exit_reason": reason}
            )  # fmt: skip
            open_exits.append(exit_pos)
        else:
            open_exits.append(still_open)
        trades.append(trade)
    return trades
