"""A trading engine's executed signals and their outcomes, idempotent on the engine's order id.

Networks drop answers, so an engine retries. A retry of an order id that says what the first
request said gets the record the first one made (never a second row); one that says something
else is an `OrderConflict`. The database's unique index on `order_id` decides between two
racing requests; `record_execution_outcome` and `update_outcome_with_pnl` do the writing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select

from core.context import Context
from core.db.models import AIModelVersion, AITrainingSample
from core.errors import BadInput, CandleLabError, NotFound
from core.learning.queries import sample_row
from core.learning.samples import price_pnl, record_execution_outcome, update_outcome_with_pnl
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
    with ctx.db.read() as session:
        row = session.execute(
            select(AIModelVersion.symbol, AIModelVersion.timeframe, AIModelVersion.bot).where(
                AIModelVersion.id == version_id
            )
        ).first()
    if row is None:
        raise NotFound(f"model version {version_id} does not exist; GET /ai/models lists them")
    with _PAIRS_LOCK:
        _PAIRS[key] = (row[0], row[1], row[2])
    return row[0], row[1], row[2]


def _row(sample: Sample) -> dict[str, Any]:
    return sample_row(sample, with_features=True)


# Statements built once (this runs on every request); rows come back as plain records.
_SAMPLES = AITrainingSample.__table__
_BY_ORDER = select(_SAMPLES).where(_SAMPLES.c.order_id == bindparam("order_id"))
_BY_ID = select(_SAMPLES).where(_SAMPLES.c.id == bindparam("id"))
_BY_ORDER_OR_CALL = select(_SAMPLES).where(
    or_(
        _SAMPLES.c.order_id == bindparam("order_id"),
        and_(  # the same call: one call of a version at a bar is one training sample
            _SAMPLES.c.version_id == bindparam("version_id"),
            _SAMPLES.c.predicted_at == bindparam("predicted_at"),
            _SAMPLES.c.source == bindparam("source"),
        ),
    )
)


def _samples(ctx: Context, statement: Select[Any], **params: Any) -> list[Sample]:
    with ctx.db.engine.connect() as conn:
        return [SimpleNamespace(**row) for row in conn.execute(statement, params).mappings()]


def _find(ctx: Context, request: ExecutionRequest) -> Sample | None:
    """The row of this order id, else the row of the same call (version, bar, source), if any."""
    rows = _samples(
        ctx,
        _BY_ORDER_OR_CALL,
        order_id=request.order_id,
        version_id=request.version_id,
        predicted_at=request.predicted_at,
        source=request.source,
    )
    return next((r for r in rows if r.order_id == request.order_id), rows[0] if rows else None)


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
    """Record an executed call once per order id (`OrderConflict` when a retry differs)."""
    authorize(actor, Permission.OUTCOMES)
    symbol, timeframe, bot = _version_pair(ctx, request.version_id)
    existing = _find(ctx, request)
    if existing is not None:
        return _replay(existing, request)
    sample_id = record_execution_outcome(
        ctx,
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
    sample = _samples(ctx, _BY_ID, id=sample_id)[0]
    if sample.order_id != request.order_id or _differences(sample, request):
        return _replay(sample, request)  # a racing request with this key got there first
    return OrderRecord(_row(sample), replayed=False)


def _close_matches(sample: Sample | AITrainingSample, request: CloseRequest) -> bool:
    pnl = request.pnl
    if pnl is None:
        pnl = price_pnl(sample, request.exit_price, request.quantity)
    return (sample.exit_price, sample.exit_time, sample.exit_reason, sample.pnl) == (
        request.exit_price,
        request.exit_time,
        request.exit_reason,
        pnl,
    )


def _order(ctx: Context, order_id: str) -> Sample:
    found = _samples(ctx, _BY_ORDER, order_id=order_id)
    if not found:
        raise NotFound(f"no executed signal is recorded as order {order_id!r}; POST /ai/outcomes first")
    return found[0]


def close_outcome(ctx: Context, actor: Actor, order_id: str, request: CloseRequest) -> OrderRecord:
    """Close an order's position with its P&L once (`OrderConflict` when a retry differs)."""
    authorize(actor, Permission.OUTCOMES)
    sample = _order(ctx, order_id)
    if sample.status != "closed":
        if request.exit_time < sample.predicted_at:
            raise BadInput(
                f"exit_time {_iso(request.exit_time)} is before the call's bar {_iso(sample.predicted_at)}"
            )
        closed = update_outcome_with_pnl(
            ctx,
            sample.id,
            exit_price=request.exit_price,
            exit_time=request.exit_time,
            exit_reason=request.exit_reason,
            quantity=request.quantity,
            pnl=request.pnl,
        )
        if _close_matches(closed, request):  # (else a racing close of this order got there first)
            return OrderRecord(_row(closed), replayed=False)
        sample = closed
    if not _close_matches(sample, request):
        raise OrderConflict(
            f"order {order_id!r} is already closed at {sample.exit_price} ({sample.exit_reason}, "
            f"{_iso(sample.exit_time)}, P&L {sample.pnl}); a retry must repeat the first close"
        )
    return OrderRecord(_row(sample), replayed=True)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"
