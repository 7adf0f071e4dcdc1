"""What a trading engine polls: the active bots' latest calls, each with how long it is valid."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from core.api.deps import context, require
from core.api.errors import build, public_text
from core.api.schemas import Signals, Symbol, TimeframeCode
from core.api.signals import latest_calls
from core.context import Context
from core.requests import PairRequest
from core.services.actors import Actor, Permission

router = APIRouter(tags=["signals"])


@router.get("/ai/signals", response_model=Signals, summary="The active bots' calls at the newest bar")
def signals(
    actor: Annotated[Actor, Depends(require(Permission.READ))],
    ctx: Annotated[Context, Depends(context)],
    symbol: Annotated[Symbol, Query()],
    timeframe: Annotated[TimeframeCode, Query()],
) -> dict[str, Any]:
    """Never act on a call whose `stale` is true or whose `valid_until` has passed. With no live
    version (or no bars) `signals` is empty and `reason` says why."""
    calls = latest_calls(ctx, build(PairRequest, symbol=symbol, timeframe=timeframe))
    calls["errors"] = {bot: public_text(why) for bot, why in calls["errors"].items()}
    calls["reason"] = public_text(calls["reason"]) if calls["reason"] else calls["reason"]
    return calls
