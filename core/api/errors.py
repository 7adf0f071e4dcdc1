"""Every error answers in one JSON shape, `{"error": {"message", "type"}}`, with one status rule.

| status | type | when |
|---|---|---|
| 401 | `unauthorized` | no bearer token, or an unknown, expired or revoked one |
| 403 | `forbidden` | the token lacks the route's scope |
| 404 | `not_found` | the route, or the version, job or order it names, does not exist |
| 409 | `conflict` | a retry that differs from the first request; the pair already has a job |
| 413 | `payload_too_large` | a body over the size limit |
| 422 | `validation_error` | the body or query does not fit the documented schema |
| 422 | `bad_input` | well-formed, but the engine refuses it (unknown symbol, too few bars, …) |
| 500 | `operational_error`, `internal_error` | the engine failed; nothing half-written is kept |

FastAPI's own validation errors (and malformed JSON) answer 422 in this shape too. Nothing that
handles a request ever writes before its input has been checked, so a 4xx has written nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.access.tokens import TokenRejected
from core.errors import BadInput, CandleLabError, Forbidden, NotFound
from core.jobs.store import JobAlreadyActive
from core.registry.activation import ActiveChanged
from core.services.outcomes import OrderConflict

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_HTTP_TYPES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ApiError(Exception):
    """An error with its status and type, raised by the API layer itself."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message)


def error_response(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status, headers=headers)


def _where(loc: Sequence[int | str], names: Mapping[str, str]) -> str:
    """A location as the client spells it: `entry_price`, `query min_samples`, `features.rsi_14`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path"):
        source, parts = parts[0], parts[1:]
    else:
        source = "body"
    dotted = ".".join(parts)
    dotted = names.get(dotted, dotted)
    if not dotted:
        return "the request body" if source == "body" else f"the {source}"
    return dotted if source == "body" else f"{source} {dotted}"


def describe(errors: Sequence[Any], names: Mapping[str, str] | None = None) -> str:
    """Pydantic errors as one sentence: what is wrong where, and what it takes."""
    problems = []
    for error in errors:
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "")
            problems.append(f"the request body is not valid JSON{f' ({detail})' if detail else ''}")
            continue
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{_where(error.get('loc', ()), names or {})}: {message}")
    return "; ".join(problems) or "invalid request"


def build(model: type[M], names: Mapping[str, str] | None = None, **data: Any) -> M:
    """One of the engine's typed requests, built from an API body: a refusal is a 422 naming the
    API's own field (`names` maps the request's field paths to the body's spelling)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", describe(exc.errors(include_url=False), names)) from None


def _status_of(exc: CandleLabError) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, BadInput):
        return 422, "bad_input"
    if isinstance(exc, Forbidden):
        return 403, "forbidden"
    if isinstance(exc, TokenRejected):
        return 401, "unauthorized"
    if isinstance(exc, OrderConflict | JobAlreadyActive | ActiveChanged):
        return 409, "conflict"
    return 500, "operational_error"


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.kind, exc.message, headers)

    @app.exception_handler(CandleLabError)
    async def _engine(request: Request, exc: CandleLabError) -> JSONResponse:
        status, kind = _status_of(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, kind, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", describe(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _HTTP_TYPES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            message = f"no route {request.method} {request.url.path}; /docs lists the routes"
        return error_response(exc.status_code, kind, message, exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # uvicorn logs the traceback (secrets masked there); the client gets no internals.
        return error_response(500, "internal_error", "unexpected failure (details in the server log)")
