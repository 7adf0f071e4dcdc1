"""A trading engine's executed signals and their outcomes, idempotent on the engine's order id.

Networks drop answers, so an engine retries. A retry of an order id that says what the first
request said gets the record the first one made (never a second row); one that says something
else is an `OrderConflict`. The database's unique index on `order_id` decides between two
racing requests; `core.learning.sample_store` does the writing, one statement per new order.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from core.context import Context
from core.errors import CandleLabError, NotFound
from core.learning import sample_store
from core.learning.queries import sample_row
from core.learning.samples import close_sample, new_sample_values, price_pnl
from core.registry.versions import get_version
from core.requests import CloseRequest, ExecutionRequest
from core.services.actors import Actor, Permission, authorize

Sample = SimpleNamespace  # a row of `ai_training_samples`, attributes by column name


class OrderConflict(CandleLabError):
    """The order id (or the call it names) is already recorded with different content."""


@dataclass(frozen=True)
class OrderRecord:
    sample: dict[str, Any]
    replayed: bool  # True: this request repeated one already recorded

    def as_json(self) -> dict[str, Any]:
        return {**self.sample, "replayed": self.replayed}


# A version's pair and bot never change, so they are read once per process.
_PAIRS: dict[tuple[str, int], tuple[str, str, str]] = {}
_PAIRS_LOCK = threading.Lock()


def _version_pair(ctx: Context, version_id: int) -> tuple[str, str, str]:
    key = (ctx.db.url, version_id)
    with _PAIRS_LOCK:
        known = _PAIRS.get(key)
    if known is not None:
        return known
    try:
        version = get_version(ctx.db, version_id)
    except NotFound:
        raise NotFound(f"model version {version_id} does not exist; GET /ai/models lists them") from None
    pair = version.symbol, version.timeframe, version.bot
    with _PAIRS_LOCK:
        _PAIRS[key] = pair
    return pair


def _row(sample: Sample) -> dict[str, Any]:
    return sample_row(sample, with_features=True)


def _find(ctx: Context, request: ExecutionRequest) -> Sample | None:
    """The row of this order id, else the row of the same call (version, bar, source), if any."""
    row = sample_store.existing(
        ctx.db,
        order_id=request.order_id,
        version_id=request.version_id,
        predicted_at=request.predicted_at,
        source=request.source,
    )
    return Sample(**row) if row is not None else None


def _differences(sample: Sample, request: ExecutionRequest) -> list[str]:
    wanted = request.model_dump(exclude={"order_id", "features"})
    stored = {name: getattr(sample, name) for name in wanted}
    changed = [name for name in wanted if stored[name] != wanted[name]]
    if dict(sample.features or {}) != request.features:
        changed.append("features")
    return changed


def _replay(sample: Sample, request: ExecutionRequest) -> OrderRecord:
    if sample.order_id != request.order_id:
        raise OrderConflict(
            f"version {request.version_id}'s call at {request.predicted_at.isoformat()} ({request.source}) "
            f"is already recorded as order {sample.order_id!r}; one call is one training sample"
        )
    changed = _differences(sample, request)
    if changed:
        raise OrderConflict(
            f"order {request.order_id!r} is already recorded with other {', '.join(changed)}; "
            "a retry must repeat the first request"
        )
    return OrderRecord(_row(sample), replayed=True)


def record_outcome(ctx: Context, actor: Actor, request: ExecutionRequest) -> OrderRecord:
    """Record an executed call once per order id (`OrderConflict` when a retry differs).

    A new order is one INSERT; only when its order id or its call is taken already is the
    existing row read, to answer the retry (or say what differs).
    """
    authorize(actor, Permission.OUTCOMES)
    symbol, timeframe, bot = _version_pair(ctx, request.version_id)
    values = new_sample_values(
        symbol=symbol,
        timeframe=timeframe,
        bot=bot,
        version_id=request.version_id,
        recommendation=request.recommendation,
        confidence=request.confidence,
        entry_price=request.entry_price,
        predicted_at=request.predicted_at,
        target=request.target,
        stop_loss=request.stop_loss,
        predicted_return=request.predicted_return,
        features=request.features,
        source=request.source,
        order_id=request.order_id,
    )
    inserted = sample_store.insert_new(ctx.db, values)
    if inserted is not None:
        return OrderRecord(_row(Sample(**inserted)), replayed=False)
    existing = _find(ctx, request)
    if existing is None:  # the key was taken, then freed again (a concurrent delete)
        raise OrderConflict(f"order {request.order_id!r} could not be recorded; retry it")
    return _replay(existing, request)


def _close_matches(sample: Sample, request: CloseRequest) -> bool:
    """Whether a close repeats the one stored (its P&L compared as computed, or as unstorable)."""
    pnl = request.pnl
    if pnl is None:
        pnl = price_pnl(sample, request.exit_price, request.quantity)
    # A P&L no column can hold (an overflow) is stored as NULL; its retry is still the same close.
    same_pnl = sample.pnl == pnl or (sample.pnl is None and not math.isfinite(pnl))
    return same_pnl and (sample.exit_price, sample.exit_time, sample.exit_reason) == (
        request.exit_price,
        request.exit_time,
        request.exit_reason,
    )


def close_outcome(ctx: Context, actor: Actor, order_id: str, request: CloseRequest) -> OrderRecord:
    """Close an order's position with its P&L once (`OrderConflict` when a retry differs)."""
    authorize(actor, Permission.OUTCOMES)
    try:
        closed = close_sample(
            ctx,
            "order_id",
            order_id,
            exit_price=request.exit_price,
            exit_time=request.exit_time,
            exit_reason=request.exit_reason,
            quantity=request.quantity,
            pnl=request.pnl,
            not_before_call=True,
        )
    except NotFound:
        raise NotFound(
            f"no executed signal is recorded as order {order_id!r}; POST /ai/outcomes first"
        ) from None
    sample = Sample(**closed.row)
    if closed.closed_now:
        return OrderRecord(_row(sample), replayed=False)
    if not _close_matches(sample, request):
        raise OrderConflict(
            f"order {order_id!r} is already closed at {sample.exit_price} ({sample.exit_reason}, "
            f"{_iso(sample.exit_time)}, P&L {sample.pnl}); a retry must repeat the first close"
        )
    return OrderRecord(_row(sample), replayed=True)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"
