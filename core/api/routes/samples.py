"""Browsing recorded training samples (paper and live executions), filtered and paged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from core.api.deps import context, require
from core.api.errors import build
from core.api.schemas import BotName, Samples, Symbol, TimeframeCode
from core.context import Context
from core.learning.queries import SampleFilter, list_samples
from core.requests import DB_ID_MAX, MAX_PAGE, DbId, PageRequest
from core.services.actors import Actor, Permission
from core.timeframes import normalise_symbol, parse_timeframe

router = APIRouter(tags=["outcomes"])


@router.get("/ai/training-samples", response_model=Samples, summary="Training samples, newest first")
def training_samples(
    actor: Annotated[Actor, Depends(require(Permission.READ))],
    ctx: Annotated[Context, Depends(context)],
    symbol: Annotated[Symbol | None, Query()] = None,
    timeframe: Annotated[TimeframeCode | None, Query()] = None,
    bot: Annotated[BotName | None, Query()] = None,
    version_id: DbId | None = None,
    outcome: Literal["open", "win", "loss"] | None = None,
    limit: Annotated[int, Query(ge=0, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_ID_MAX)] = 0,
    features: Annotated[bool, Query(description="include each sample's features")] = False,
) -> dict[str, Any]:
    page = build(PageRequest, {"limit": "query limit", "offset": "query offset"}, limit=limit, offset=offset)
    filters = SampleFilter(
        symbol=normalise_symbol(symbol) if symbol else None,
        timeframe=parse_timeframe(timeframe).code if timeframe else None,
        bot=bot,
        version_id=version_id,
        outcome=outcome,
    )
    found = list_samples(ctx.db, filters, limit=page.limit, offset=page.offset, with_features=features)
    return {"total": found.total, "samples": found.samples}
