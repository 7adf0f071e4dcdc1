"""What a trading engine polls: the active bots' latest calls, each with how long it is valid."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from core.api.deps import context, require
from core.api.errors import build
from core.api.schemas import Signals
from core.api.signals import latest_calls
from core.context import Context
from core.requests import PairRequest
from core.services.actors import Actor, Permission

router = APIRouter(tags=["signals"])


@router.get("/ai/signals", response_model=Signals, summary="The active bots' calls at the newest bar")
def signals(
    actor: Annotated[Actor, Depends(require(Permission.READ))],
    ctx: Annotated[Context, Depends(context)],
    symbol: str,
    timeframe: str,
) -> dict[str, Any]:
    """Never act on a call whose `stale` is true or whose `valid_until` has passed. With no live
    version (or no bars) `signals` is empty and `reason` says why."""
    return latest_calls(ctx, build(PairRequest, symbol=symbol, timeframe=timeframe))
