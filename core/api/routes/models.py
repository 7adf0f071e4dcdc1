"""Model versions with their metrics, and activating one (what a desk trades)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query

from core.api.deps import context, require
from core.api.errors import build, documented, public_text
from core.api.evidence import evidence_of
from core.api.schemas import ActivateBody, Activation, BotName, Symbol, TimeframeCode, Versions
from core.context import Context
from core.registry.versions import list_versions
from core.requests import ActivateRequest, DbId
from core.services import models
from core.services.actors import Actor, Permission
from core.timeframes import normalise_symbol, parse_timeframe

router = APIRouter(tags=["models"])

Ctx = Annotated[Context, Depends(context)]


@router.get("/ai/models", response_model=Versions, summary="Model versions with their metrics, newest first")
def list_models(
    actor: Annotated[Actor, Depends(require(Permission.READ))],
    ctx: Ctx,
    symbol: Annotated[Symbol | None, Query()] = None,
    timeframe: Annotated[TimeframeCode | None, Query()] = None,
    bot: Annotated[BotName | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    """Every metric is walk-forward out of sample, beside its naive baseline, with n and a 95 % CI;
    `evidence` holds the figures the promotion gate reads, `gate_verdict` what it decided."""
    versions = list_versions(
        ctx.db,
        symbol=normalise_symbol(symbol) if symbol else None,
        timeframe=parse_timeframe(timeframe).code if timeframe else None,
        bot=bot,
        limit=limit,
    )
    shown = [{**v.as_json(), "evidence": evidence_of(v.metrics, ctx.settings)} for v in versions]
    for version in shown:
        if version.get("broken_reason"):
            version["broken_reason"] = public_text(version["broken_reason"])
    return {"versions": shown}


@router.post(
    "/ai/activate-model/{version_id}",
    response_model=Activation,
    summary="Make a version the active one of its bot",
    responses=documented(404, 409, 413),
)
def activate_model(
    version_id: Annotated[DbId, Path()],
    actor: Annotated[Actor, Depends(require(Permission.ACTIVATE))],
    ctx: Ctx,
    body: Annotated[ActivateBody | None, Body()] = None,
) -> dict[str, Any]:
    """The switch is recorded in the activation history under the token's name."""
    reason = (body.reason if body else None) or f"activated through the API by {actor.name}"
    request = build(ActivateRequest, version_id=version_id, reason=reason)
    return models.activate(ctx, actor, request).as_json()
