"""Changing what trades: activating a version, rolling a bot back."""

from __future__ import annotations

from core.context import Context
from core.registry import activation
from core.registry.activation import ActivationResult
from core.requests import ActivateRequest, RollbackRequest
from core.services.actors import Actor, Permission, authorize
from core.services.audited import audited


def _switch(result: ActivationResult) -> dict[str, int | None]:
    return {"version_id": result.version_id, "previous_active_id": result.previous_active_id}


# Activating the version already active changes nothing, so it is not recorded as a change.
@audited(
    "activate",
    target=lambda a: f"version {a['request'].version_id}",
    detail=_switch,
    changed=lambda result: result.changed,
)
def activate(ctx: Context, actor: Actor, request: ActivateRequest) -> ActivationResult:
    authorize(actor, Permission.ACTIVATE)
    return activation.activate(ctx, request.version_id, actor=actor.name, reason=request.reason)


@audited(
    "rollback",
    target=lambda a: f"{a['request'].bot} {a['request'].symbol} {a['request'].timeframe}",
    detail=_switch,
)
def rollback(ctx: Context, actor: Actor, request: RollbackRequest) -> ActivationResult:
    authorize(actor, Permission.ACTIVATE)
    return activation.rollback(
        ctx, request.symbol, request.timeframe, request.bot, actor=actor.name, reason=request.reason
    )
