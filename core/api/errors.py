"""Every error answers in one JSON shape, `{"error": {"message", "type"}}`, with one status rule.

| status | type | when |
|---|---|---|
| 401 | `unauthorized` | no bearer token, or an unknown, expired or revoked one |
| 403 | `forbidden` | the token lacks the route's scope |
| 404 | `not_found` | the route, or the version, job or order it names, does not exist |
| 409 | `conflict` | a retry that differs; the pair already has a job; what is stored rules it out |
| 413 | `payload_too_large` | a body over the size limit |
| 422 | `validation_error` | the body or query does not fit the documented schema |
| 422 | `bad_input` | well-formed, but the engine refuses it |
| 500 | `operational_error`, `internal_error` | the engine failed; nothing half-written is kept |

FastAPI's own validation errors and every malformed body (not JSON, not UTF-8, nested too deep, of
the wrong type) answer 422 in this shape too. Nothing that
handles a request ever writes before its input has been checked, so a 4xx has written nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import masking
from core.access.tokens import TokenRejected
from core.api.schemas import ErrorBody
from core.db.faults import DriverError, storage_fault
from core.errors import BadInput, CandleLabError, Conflict, Forbidden, NotFound
from core.jobs.store import JobAlreadyActive
from core.registry.activation import ActiveChanged
from core.services.outcomes import OrderConflict

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_HTTP_TYPES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


_MEANINGS = {
    401: "no token, or an unknown, expired or revoked one",
    403: "the token lacks the route's scope",
    404: "what the request names (a version, job, order or series) does not exist",
    409: "a retry that differs from the first request, a job already running for the pair, or "
    "what is stored rules the request out (too few bars, no LLM configured)",
    413: "a body over the size limit",
    422: "bad input: the body or query does not fit the schema, or is not JSON (nothing was written)",
    500: "the engine failed; nothing half-written is kept",
    503: "the API is starting or stopping; retry in a moment",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each in the one error shape."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}


class ApiError(Exception):
    """An error with its status and type, raised by the API layer itself."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, "unauthorized", message)


# An absolute file path (a database, an artifact, a log): a client learns only the file's name.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/()<>,;]+/)+([^\s'\"/()<>,;]*)")
_BODY_NOT_PARSED = "There was an error parsing the body"


def public_text(text: str) -> str:
    """`text` fit for any API client: no secret (core.masking), no absolute path of this machine."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", masking.mask(text))


def error_response(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": public_text(message), "type": kind}}
    return JSONResponse(body, status_code=status, headers=headers)


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
    if isinstance(exc, Conflict):
        return 409, "conflict"
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
        if exc.status_code == 400 and exc.detail == _BODY_NOT_PARSED:
            # Not UTF-8, or JSON nested deeper than the parser goes: malformed like any other body.
            message = "the request body is not valid JSON (UTF-8 text, nested a few hundred levels at most)"
            return error_response(422, "validation_error", message)
        kind = _HTTP_TYPES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            message = f"no route {request.method} {request.url.path}; /docs lists the routes"
        return error_response(exc.status_code, kind, message, exc.headers)

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        """A driver or file-system error: a storage fault in one line, else the generic 500."""
        state = getattr(request.app.state, "api", None)
        fault = storage_fault(exc, state.ctx.settings.db_url if state is not None else None)
        if fault is None:
            log.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
            return error_response(500, "internal_error", "unexpected failure (details in the server log)")
        log.error("%s %s failed: %s", request.method, request.url.path, fault)
        return error_response(500, "operational_error", str(fault))

    # Registered by class (not as the catch-all): handled here, answered, and not re-raised.
    app.add_exception_handler(DriverError, _storage)
    app.add_exception_handler(OSError, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # uvicorn logs the traceback (secrets masked there); the client gets no internals.
        return error_response(500, "internal_error", "unexpected failure (details in the server log)")
