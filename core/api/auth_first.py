"""Authentication before the body: a request to a token route is checked before a byte of it is read.

FastAPI reads and parses a route's body before it resolves the route's dependencies, so without
this a malformed body with no token answered 422 (and a large one was read in full) instead of
401. This pure ASGI middleware finds the route, checks the bearer token the same way the route's
dependency does (`core.api.deps.token_actor`) and answers 401 at once; the actor it found is left
in the request state for the dependency, which then checks only the scope.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from core.access.tokens import TokenRejected
from core.api.deps import ACTOR_STATE, token_actor
from core.api.errors import ApiError, error_response

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def _needs_token(scope: Scope) -> bool:
    if scope["path"] in OPEN_PATHS:
        return False
    app = scope.get("app")
    routes: list[Any] = getattr(app, "routes", [])
    return any(route.matches(scope)[0] != Match.NONE for route in routes)  # unknown paths: 404 as ever


class AuthFirst:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _needs_token(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers only: the body stays unread
        scheme, secret = get_authorization_scheme_param(request.headers.get("Authorization"))
        try:
            if scheme.lower() != "bearer" or not secret:
                secret = None
            actor = await token_actor(request, secret)
        except ApiError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            await error_response(exc.status, exc.kind, exc.message, headers)(scope, receive, send)
            return
        except TokenRejected as exc:
            response = error_response(401, "unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        except Exception:  # the token store failed: the one error shape, the details in the log
            log.exception("checking a token failed")
            await error_response(500, "internal_error", "unexpected failure (details in the server log)")(
                scope, receive, send
            )
            return
        scope.setdefault("state", {})[ACTOR_STATE] = actor
        await self.app(scope, receive, send)
