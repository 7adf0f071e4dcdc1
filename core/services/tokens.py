"""Issuing and revoking API tokens: changes of who may reach the engine, so they are services too,
audited like role changes (the audit row names the token and its scopes, never its secret)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from core.access import tokens
from core.access.tokens import IssuedToken, TokenView
from core.context import Context
from core.db.types import utcnow
from core.requests import TokenRef, TokenRequest
from core.services.actors import Actor, Permission, authorize
from core.services.audited import audited

log = logging.getLogger(__name__)


def _facts(token: TokenView) -> dict[str, Any]:
    """What the audit row keeps of a token: its id, name, scopes and dates (never the secret)."""
    view = token.as_json()
    return {key: view[key] for key in ("token_id", "name", "scopes", "expires_at", "revoked_at")}


@audited("create_token", target=lambda a: f"token {a['request'].name}", detail=lambda i: _facts(i.view))
def create_token(ctx: Context, actor: Actor, request: TokenRequest) -> IssuedToken:
    """A new token; its secret is in the result only (it is stored as a digest, never logged)."""
    authorize(actor, Permission.MANAGE_ACCESS)
    days = request.expires_days
    expires_at = utcnow() + timedelta(days=days) if days is not None else None
    issued = tokens.issue(
        ctx.db, name=request.name, scopes=request.scopes, expires_at=expires_at, created_by=actor.name
    )
    log.info(
        "API token %d (%s) created by %s with scopes %s%s",
        *(issued.view.token_id, request.name, actor.name, ",".join(request.scopes)),
        f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "",
    )
    return issued


def list_tokens(ctx: Context, actor: Actor) -> list[TokenView]:
    authorize(actor, Permission.MANAGE_ACCESS)
    return tokens.list_tokens(ctx.db)


@audited("revoke_token", target=lambda a: f"token {a['request'].token_id}", detail=_facts)
def revoke_token(ctx: Context, actor: Actor, request: TokenRef) -> TokenView:
    authorize(actor, Permission.MANAGE_ACCESS)
    token = tokens.revoke(ctx.db, request.token_id, revoked_by=actor.name)
    log.info("API token %d (%s) revoked by %s", token.token_id, token.name, actor.name)
    return token
