"""Paper trades from signals, by the one trade rule (`core.evaluation.trade_rule`).

Pure functions over a signal frame and the bars, so the replay (`simulate`), the live tick and the
tests share the version backtest's rule: a BUY or SELL whose (calibrated) confidence reaches the
threshold is a signal; one position at a time, a signal on the previous trade's exit bar may
enter; entries at the bar's close, exits at target or stop (a bar opening beyond one fills at its
open; both inside one bar count as the stop) or at the horizon's close; slippage on both fills
and commission on both sides (`fees`). A position whose outcome the bars do not tell yet stays
open, and blocks later signals, until more bars arrive. Each trade is one unit of the instrument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.costs import NO_COSTS, TradingCosts
from core.evaluation.trade_rule import MAX_OPEN, resolve_exits, take_trades


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


def plan_trades(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    start: int,
    horizon: int,
    min_confidence: float,
    max_open: int = MAX_OPEN,
    existing_exits: list[int] | None = None,
    costs: TradingCosts = NO_COSTS,
) -> list[PaperTrade]:
    """Trades opened at bar positions >= `start`; `signals` is indexed by bar time (a subset is fine).

    `existing_exits` are the exit bars of positions opened earlier (`STILL_OPEN` for those still
    open), so they block new entries for as long as they last. `max_open` above the rule's
    `MAX_OPEN` is a what-if: the backtest never holds more than one position.
    """
    positions = bars.index.get_indexer(signals.index)
    rec = signals["recommendation"].to_numpy()
    wanted = (
        (positions >= start)
        & (positions >= 0)
        & np.isin(rec, ["BUY", "SELL"])
        & (signals["confidence"].to_numpy(dtype="float64") >= min_confidence)
    )
    signals, positions = signals[wanted], positions[wanted]
    order = np.argsort(positions, kind="stable")
    signals, positions = signals.iloc[order], positions[order]
    taken = take_trades(
        bars,
        positions,
        np.where(signals["recommendation"].to_numpy() == "SELL", -1, 1),
        signals["target"].to_numpy(dtype="float64"),
        signals["stop_loss"].to_numpy(dtype="float64"),
        horizon,
        costs,
        busy=existing_exits or (),
        max_open=max_open,
    )
    rows = signals.iloc[taken.signal]
    predicted = rows["predicted_return"] if "predicted_return" in rows else pd.Series(np.nan, rows.index)
    closed = taken.closed.tolist()

    def once_closed(values: list[object]) -> list[object]:
        return [v if c else None for v, c in zip(values, closed, strict=True)]

    exit_bar = np.where(taken.closed, taken.exit_position, 0)
    columns: dict[str, list[object]] = {
        "position": taken.position.tolist(),
        "entry_time": list(rows.index),
        "entry_price": taken.entry_fill.tolist(),
        "recommendation": rows["recommendation"].astype(str).tolist(),
        "target": rows["target"].astype("float64").tolist(),
        "stop_loss": rows["stop_loss"].astype("float64").tolist(),
        "confidence": rows["confidence"].astype("float64").tolist(),
        "predicted_return": predicted.astype("float64").tolist(),
        "exit_position": once_closed(taken.exit_position.tolist()),
        "exit_time": once_closed(list(bars.index[exit_bar])),
        "exit_price": once_closed(taken.exit_fill.tolist()),
        "exit_reason": once_closed(taken.reason.tolist()),
        "fees": taken.fees.tolist(),
    }
    names = list(columns)
    return [PaperTrade(**dict(zip(names, row, strict=True))) for row in zip(*columns.values(), strict=True)]  # type: ignore[arg-type]
