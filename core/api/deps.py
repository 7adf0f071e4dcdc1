"""What routes depend on: the process's engine, and the token actor a bearer secret names.

A token is looked up by the SHA-256 of its secret (an indexed read), then trusted for a second
(so a revocation reaches a running server within a second; expiry is checked every time);
"last used" is written at most once a minute per token. The secret is read from the
`Authorization` header only and never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.access import audit, tokens
from core.access.audit import AuditRecord
from core.access.tokens import TokenCache, UsageClock
from core.api.errors import ApiError, Unauthorized
from core.context import Context
from core.errors import Forbidden
from core.runtime import Engine, JobRunner
from core.services.actors import Actor, Permission, authorize

log = logging.getLogger(__name__)

T = TypeVar("T")
# A refusal at the door of a route that would change state is on the audit log like a refusal
# inside a service; reads and outcome records are not state changes of that kind.
AUDITED_REFUSALS = frozenset(Permission) - {Permission.READ, Permission.OUTCOMES}
POOLED_WRITERS = 8  # a server database (PostgreSQL) takes writers concurrently; SQLite one

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`; create one with `python -m core tokens create`",
)


@dataclass
class ApiState:
    """Held by the application for its lifetime (set up and shut down by its lifespan).

    `writers` bounds the threads that write outcomes at once. SQLite takes one writer at a time,
    and a writer that finds it busy sleeps in SQLite's busy handler (up to 100 ms a try); queueing
    them here instead hands the lock on at once, which keeps the latency tail short.
    """

    engine: Engine
    writers: CapacityLimiter
    tokens: TokenCache = field(default_factory=TokenCache)
    usage: UsageClock = field(default_factory=UsageClock)

    @classmethod
    def start(cls, engine: Engine) -> ApiState:
        """Built inside the server's event loop (the limiter belongs to it)."""
        return cls(engine, CapacityLimiter(1 if engine.ctx.db.is_sqlite else POOLED_WRITERS))

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


async def context(request: Request) -> Context:
    return api_state(request).ctx


async def runner(request: Request) -> JobRunner:
    return api_state(request).runner


async def in_writer_thread(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(ctx, *args)`, a blocking write, off the event loop, queued behind the process's
    other writers (the context comes from the request, which saves the hot routes a dependency)."""
    state = api_state(request)
    return await to_thread.run_sync(fn, state.ctx, *args, limiter=state.writers)


def _record_use(state: ApiState, token_id: int) -> None:
    try:
        tokens.record_use(state.ctx.db, token_id)
    except Exception:  # a busy database must not fail a request over a "last used" time
        log.warning("could not record the use of API token %d", token_id, exc_info=True)


ACTOR_STATE = "candlelab_actor"  # where core.api.auth_first leaves the actor it authenticated


async def token_actor(request: Request, secret: str | None) -> Actor:
    """The token's actor; database work runs off the event loop, and only when the cache is cold."""
    if not secret:
        raise Unauthorized("this route needs an API token: send `Authorization: Bearer <token>`")
    state = api_state(request)
    token = state.tokens.get(secret)
    if token is None:
        token = await to_thread.run_sync(tokens.authenticate, state.ctx.db, secret)  # TokenRejected: 401
        state.tokens.put(secret, token)
    tokens.usable(token)
    if state.usage.due(token.token_id):
        await to_thread.run_sync(_record_use, state, token.token_id)
    return Actor(token.name, "token", scopes=frozenset(token.scopes))


def _audit_refusal(state: ApiState, actor: Actor, permission: Permission, what: str, reason: str) -> None:
    entry = AuditRecord(actor.name, actor.kind, permission.value, "refused", target=what, reason=reason)
    try:
        audit.record(state.ctx.db, entry)
    except Exception:  # the 403 stands; the log says the row is missing
        log.exception("could not append the audit row for a refused %s by %s", permission.value, actor.name)


def require(permission: Permission) -> Callable[..., Actor]:
    """A dependency: the request's token actor, refused (403) without the scope for `permission`."""

    # One dependency (on the bearer scheme, which also documents the route's security in
    # OpenAPI) rather than a chain of them: FastAPI resolves each level on every request.
    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Actor:
        actor = getattr(request.state, ACTOR_STATE, None)
        if actor is None:  # the app without its AuthFirst middleware (embedded, tests of a route)
            actor = await token_actor(request, credentials.credentials if credentials else None)
        try:
            authorize(actor, permission)
        except Forbidden as exc:
            if permission in AUDITED_REFUSALS:
                what = f"{request.method} {request.url.path}"
                state = api_state(request)
                await to_thread.run_sync(_audit_refusal, state, actor, permission, what, str(exc))
            raise ApiError(403, "forbidden", str(exc)) from None
        return actor

    return check
