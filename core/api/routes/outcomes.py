"""Executed signals and their P&L from a trading engine, idempotent on the engine's order id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from core.api.deps import in_writer_thread, require
from core.api.errors import documented
from core.api.schemas import Outcome
from core.requests import ORDER_ID, CloseRequest, ExecutionRequest
from core.services import outcomes
from core.services.actors import Actor, Permission

router = APIRouter(tags=["outcomes"])

Recorder = Annotated[Actor, Depends(require(Permission.OUTCOMES))]
_CONFLICT = documented(404, 409, 413)


@router.post(
    "/ai/outcomes",
    status_code=status.HTTP_201_CREATED,
    response_model=Outcome,
    responses={200: {"model": Outcome, "description": "a retry: the record already made"}, **_CONFLICT},
    summary="Record an executed signal: its prediction, the features it saw, the version",
)
async def record_outcome(
    body: ExecutionRequest, actor: Recorder, request: Request, response: Response
) -> dict[str, Any]:
    """201 with the new record; a retry with the same `order_id` and content answers 200 with the
    same record (nothing written); the same `order_id` with other content answers 409."""
    record = await in_writer_thread(request, outcomes.record_outcome, actor, body)
    if record.replayed:
        response.status_code = status.HTTP_200_OK
    return record.as_json()


@router.post(
    "/ai/outcomes/{order_id}/close",
    response_model=Outcome,
    responses=_CONFLICT,
    summary="Close an executed signal's position: exit price and time, P&L",
)
async def close_outcome(
    order_id: Annotated[str, Path(pattern=ORDER_ID)],
    body: CloseRequest,
    actor: Recorder,
    request: Request,
) -> dict[str, Any]:
    """Without `pnl` the P&L is the price move times `quantity`; a retry answers the same record."""
    record = await in_writer_thread(request, outcomes.close_outcome, actor, order_id, body)
    return record.as_json()
