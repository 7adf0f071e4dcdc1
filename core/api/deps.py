"""What routes depend on: the process's engine, and the token actor a bearer secret names.

A token is looked up by the SHA-256 of its secret on every request (an indexed read), so a
revocation takes effect at once; "last used" is written at most once a minute per token.
The secret itself is read from the `Authorization` header only and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.access import tokens
from core.access.tokens import UsageClock
from core.api.errors import ApiError, Unauthorized
from core.context import Context
from core.errors import Forbidden
from core.runtime import Engine, JobRunner
from core.services.actors import TOKEN_SCOPES, Actor, Permission, authorize

log = logging.getLogger(__name__)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`; create one with `python -m core tokens create`",
)


@dataclass
class ApiState:
    """Held by the application for its lifetime (set up and shut down by its lifespan)."""

    engine: Engine
    usage: UsageClock = field(default_factory=UsageClock)

    @property
    def ctx(self) -> Context:
        return self.engine.ctx

    @property
    def runner(self) -> JobRunner:
        return self.engine.runner


def api_state(request: Request) -> ApiState:
    state = getattr(request.app.state, "api", None)
    if state is None:
        raise ApiError(503, "unavailable", "the API is starting or stopping; retry in a moment")
    return state


def context(request: Request) -> Context:
    return api_state(request).ctx


def runner(request: Request) -> JobRunner:
    return api_state(request).runner


def _token_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    if credentials is None:
        raise Unauthorized("this route needs an API token: send `Authorization: Bearer <token>`")
    state = api_state(request)
    token = tokens.authenticate(state.ctx.db, credentials.credentials)  # TokenRejected: 401
    if state.usage.due(token.token_id):
        try:
            tokens.record_use(state.ctx.db, token.token_id)
        except Exception:  # a busy database must not fail a request over a "last used" time
            log.warning("could not record the use of API token %d", token.token_id, exc_info=True)
    return Actor(token.name, "token", scopes=frozenset(token.scopes))


def _scope_for(permission: Permission) -> str:
    return next((s for s, granted in TOKEN_SCOPES.items() if permission in granted), permission.value)


def require(permission: Permission) -> Callable[..., Actor]:
    """A dependency: the request's token actor, refused (403) without the scope for `permission`."""

    async def check(actor: Annotated[Actor, Depends(_token_actor)]) -> Actor:
        try:
            authorize(actor, permission)
        except Forbidden:
            held = ", ".join(sorted(actor.scopes)) or "none"
            raise ApiError(
                403,
                "forbidden",
                f"token {actor.name!r} lacks the {_scope_for(permission)!r} scope (it holds: {held})",
            ) from None
        return actor

    return check
