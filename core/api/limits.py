"""A cap on request bodies, so one client cannot make the server read megabytes it will refuse.

uvicorn reads whatever a client sends; this pure ASGI middleware answers 413 as soon as the
declared `Content-Length` or the bytes actually received pass the cap (chunked bodies too).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.api.errors import error_response

MAX_BODY_BYTES = 1_000_000  # an executed signal with 500 features is ~30 kB


class _TooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTP exceptions through its body parsing as they are."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes", {"Connection": "close"})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = _TooLarge(self.max_bytes)
        response: Any = error_response(413, "payload_too_large", str(too_large.detail), too_large.headers)
        await response(scope, receive, send)
