"""Recording executed predictions and their outcomes: the raw material of continuous learning.

`record_execution_outcome` stores what a model predicted when a signal was executed (with the
features it saw and the version that made it); `update_outcome_with_pnl` completes the row when
the position closes. The original system's names are kept so its operators recognise them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Literal

from sqlalchemy import case, func, select

from core.context import Context
from core.db.database import Database
from core.db.models import AITrainingSample
from core.db.types import utcnow
from core.errors import BadInput, CandleLabError, Conflict, NotFound
from core.evaluation.intervals import wilson_interval
from core.learning import demotion, sample_store
from core.learning.sources import WALKFORWARD
from core.registry.versions import get_version

EXIT_REASONS = ("target", "stop", "timeout", "manual")


def _direction(recommendation: str) -> int:
    try:
        return {"BUY": 1, "SELL": -1}[recommendation]
    except KeyError:
        raise BadInput(f"only BUY or SELL signals are executed, not {recommendation!r}") from None


def _clean_features(features: dict[str, Any]) -> dict[str, float | None]:
    """JSON cannot hold NaN; a missing indicator is stored as null."""
    out: dict[str, float | None] = {}
    for name, value in features.items():
        if value is None:
            out[name] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        out[name] = number if math.isfinite(number) else None
    return out


def new_sample_values(
    *,
    symbol: str,
    timeframe: str,
    bot: str,
    version_id: int | None,
    recommendation: str,
    confidence: float,
    entry_price: float,
    predicted_at: datetime,
    target: float | None = None,
    stop_loss: float | None = None,
    predicted_return: float | None = None,
    features: dict[str, Any] | None = None,
    source: str = "paper",
    order_id: str | None = None,
) -> dict[str, Any]:
    """The columns of a new open sample, checked (`BadInput` before anything is written)."""
    _direction(recommendation)
    if not entry_price > 0:
        raise BadInput(f"entry price must be positive, got {entry_price}")
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "bot": bot,
        "version_id": version_id,
        "source": source,
        "predicted_at": predicted_at,
        "recommendation": recommendation,
        "confidence": float(confidence),
        "entry_price": float(entry_price),
        "target": target,
        "stop_loss": stop_loss,
        "predicted_return": predicted_return,
        "features": _clean_features(features or {}),
        "status": "open",
        "order_id": order_id,
        "recorded_at": utcnow(),
    }


def record_execution_outcome(
    ctx: Context,
    *,
    symbol: str,
    timeframe: str,
    bot: str,
    version_id: int | None,
    recommendation: str,
    confidence: float,
    entry_price: float,
    predicted_at: datetime,
    target: float | None = None,
    stop_loss: float | None = None,
    predicted_return: float | None = None,
    features: dict[str, Any] | None = None,
    source: str = "paper",
    order_id: str | None = None,
) -> int:
    """Store an executed prediction; returns its id (one INSERT, see `core.learning.sample_store`).

    Recording the same (version, bar, source) twice returns the first id. `order_id` is a
    trading engine's own id for the order (unique): a retried request with the same id returns
    the row it recorded the first time, whatever else it says.
    """
    values = new_sample_values(
        symbol=symbol,
        timeframe=timeframe,
        bot=bot,
        version_id=version_id,
        recommendation=recommendation,
        confidence=confidence,
        entry_price=entry_price,
        predicted_at=predicted_at,
        target=target,
        stop_loss=stop_loss,
        predicted_return=predicted_return,
        features=features,
        source=source,
        order_id=order_id,
    )
    row = sample_store.insert_new(ctx.db, values)
    if row is not None:
        return int(row["id"])
    keys = {name: values[name] for name in ("order_id", "version_id", "predicted_at", "source")}
    existing = sample_store.existing_id(ctx.db, **keys)
    if existing is None:  # the key was taken, then freed again (a concurrent delete): say so
        raise CandleLabError(f"the {values['bot']} call at {values['predicted_at']} could not be recorded")
    return existing


def closing_values(
    sample: Any,
    *,
    exit_price: float,
    exit_time: datetime,
    exit_reason: str,
    quantity: float = 1.0,
    fees: float = 0.0,
    pnl: float | None = None,
) -> dict[str, Any]:
    """The columns that close an open `sample` (any object with its columns as attributes).

    Without `pnl`, the P&L is the price move in the call's direction less `fees` (commission per
    unit in price units: the paper trader's simulated broker), times `quantity`. `pnl` is a
    broker's realised P&L when the caller has it (fills and costs included) and is kept as
    reported. `prediction_correct` is the call's direction, whatever the costs.
    """
    direction = _direction(sample.recommendation)
    if not (math.isfinite(fees) and fees >= 0):
        raise BadInput(f"fees must be a non-negative number, got {fees}")
    if pnl is not None and fees:
        raise BadInput("a broker's P&L already includes its fees: pass pnl or fees, not both")
    move = (exit_price - sample.entry_price) * direction
    values: dict[str, Any] = {
        "exit_price": float(exit_price),
        "exit_time": exit_time,
        "exit_reason": exit_reason,
        "prediction_correct": move > 0,  # the call's direction, whatever the costs
        "status": "closed",
        "closed_at": utcnow(),
    }
    if pnl is None:
        pnl_pct = (move - fees) / sample.entry_price
        values.update(fees=float(fees), pnl=price_pnl(sample, exit_price, quantity, fees), pnl_pct=pnl_pct)
    else:  # the broker's figure; its costs are inside it, so no separate fee is known
        notional = sample.entry_price * quantity
        values.update(pnl=float(pnl), pnl_pct=pnl / notional if notional else None)
    return values


def close_sample(
    ctx: Context,
    by: Literal["id", "order_id"],
    key: int | str,
    *,
    exit_price: float,
    exit_time: datetime,
    exit_reason: str,
    quantity: float = 1.0,
    fees: float = 0.0,
    pnl: float | None = None,
    review: bool = True,
    not_before_call: bool = False,
) -> sample_store.Closed:
    """Close the sample with this id or order id in one transaction (see `closing_values`).

    Closing twice is a no-op: the first outcome stands (`closed_now` False). `not_before_call`
    refuses an exit before the call's bar. With `review`, a live version's record is then
    checked for demotion (callers closing many samples at once pass False and call
    `demotion.review` once at the end).
    """
    if exit_reason not in EXIT_REASONS:
        raise BadInput(f"exit reason must be one of {', '.join(EXIT_REASONS)}")
    if not exit_price > 0:
        raise BadInput(f"exit price must be positive, got {exit_price}")

    def values_for(row: dict[str, Any]) -> dict[str, Any]:
        if not_before_call and exit_time < row["predicted_at"]:
            bar = row["predicted_at"].isoformat()
            raise Conflict(f"exit_time {exit_time.isoformat()} is before the call's bar {bar}")
        exit_ = {"exit_price": exit_price, "exit_time": exit_time, "exit_reason": exit_reason}
        return closing_values(SimpleNamespace(**row), **exit_, quantity=quantity, fees=fees, pnl=pnl)

    closed = sample_store.close(ctx.db, by, key, values_for)
    if closed is None:
        what = f"training sample {key}" if by == "id" else f"an executed signal recorded as order {key!r}"
        raise NotFound(f"{what} does not exist")
    if review and closed.closed_now and closed.version_live:
        demotion.review(ctx, closed.row["version_id"])
    return closed


def update_outcome_with_pnl(
    ctx: Context,
    sample_id: int,
    *,
    exit_price: float,
    exit_time: datetime,
    exit_reason: str,
    quantity: float = 1.0,
    fees: float = 0.0,
    pnl: float | None = None,
    review: bool = True,
) -> AITrainingSample:
    """Close a sample: exit, P&L (per `quantity` units) and whether the predicted direction paid.

    See `close_sample`; closing twice is a no-op that returns the first outcome.
    """
    closed = close_sample(
        ctx,
        "id",
        sample_id,
        exit_price=exit_price,
        exit_time=exit_time,
        exit_reason=exit_reason,
        quantity=quantity,
        fees=fees,
        pnl=pnl,
        review=review,
    )
    return AITrainingSample(**closed.row)


def price_pnl(sample: AITrainingSample, exit_price: float, quantity: float = 1.0, fees: float = 0.0) -> float:
    """The P&L of `quantity` units from the entry to `exit_price` in the predicted direction, after
    `fees` per unit (what `update_outcome_with_pnl` stores without a broker's figure)."""
    return ((exit_price - sample.entry_price) * _direction(sample.recommendation) - fees) * quantity


@dataclass(frozen=True)
class LiveAccuracy:
    version_id: int
    accuracy: float | None
    n: int
    ci: tuple[float, float] | None
    pnl: float
    since: datetime | None

    def as_metrics(self) -> dict[str, Any]:
        return {
            "live_accuracy": self.accuracy,
            "live_accuracy_n": self.n,
            "live_accuracy_ci": list(self.ci) if self.ci else None,
            "live_pnl": round(self.pnl, 6),
        }


def live_accuracy_of(db: Database, version_id: int) -> LiveAccuracy:
    """Hit rate and P&L of a version's closed samples.

    A version only trades while it is active (the paper trader uses active models), so all of its
    samples date from its time in service.
    """
    version = get_version(db, version_id)
    with db.read() as session:
        n, hits, pnl = session.execute(
            select(
                func.count(),
                func.sum(case((AITrainingSample.prediction_correct.is_(True), 1), else_=0)),
                func.coalesce(func.sum(AITrainingSample.pnl), 0.0),
            ).where(
                AITrainingSample.version_id == version_id,
                AITrainingSample.status == "closed",
                AITrainingSample.source != WALKFORWARD,
            )
        ).one()
    if not n:
        return LiveAccuracy(version_id, None, 0, None, 0.0, version.activated_at)
    hits = int(hits or 0)
    ci = wilson_interval(hits, int(n))
    return LiveAccuracy(version_id, round(hits / n, 4), int(n), ci, float(pnl), version.activated_at)
