"""The async LLM client: one `httpx.AsyncClient` per run, bounded concurrency, retries, deadlines.

Every attempt has a total deadline (connect, send and the full read: a server trickling bytes
cannot hold a slot past it) beside httpx's per-read timeouts, and its body is read as a stream
up to `max_reply_bytes`, before anything is parsed. A run may add an overall deadline that no
attempt or retry outlasts.

It returns a `Completion` or raises `LLMCallFailed` (this request gave up; `ReplyTooLarge` for
an oversized reply, `RetryAbandoned` when the run stopped before a retry) or `LLMAuthError` (the
credentials are refused; the caller stops the whole run). Messages in those errors are redacted
of every configured secret, and httpx's own exceptions (which carry the request) are never
chained onto them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

import httpx

from core.errors import LLMAuthError
from core.labeling.llm.body import BodyTooLarge, BoundedBody, UnsupportedEncoding
from core.labeling.llm.retry import AUTH_STATUSES, RetryPolicy, is_retryable, parse_retry_after
from core.llm_providers.wire import (
    CHARS_PER_TOKEN,
    Completion,
    LLMCallFailed,
    MalformedEnvelope,
    Message,
    ReplyTooLarge,
    RetryAbandoned,
    Usage,
    WireFormat,
    estimate_usage,
    redact,
)

log = logging.getLogger(__name__)

ERROR_BODY_BYTES = 16_384  # an error reply is read only this far, for its message
# Called before attempt n >= 2 of a request; returning False abandons the request (the run stopped).
BeforeRetry = Callable[[int], Awaitable[bool]]


class _SchemaRefused(Exception):
    """Internal: a 400 naming `response_format`: the server does not take structured outputs."""


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after


@dataclass
class _Billable:
    """Reply bodies (or parts of them) the provider sent for one request: what it may bill."""

    prompt_tokens: int
    replies: int = 0
    reply_bytes: int = 0

    def usage(self) -> Usage | None:
        if not self.replies:
            return None
        out = max(1, self.reply_bytes // CHARS_PER_TOKEN)
        return Usage(self.replies * self.prompt_tokens, out, estimated=True)


def error_message(status: int, body: bytes) -> str:
    """The provider's own explanation (`{"error": {"message", "type"}}`), or a short body excerpt."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        kind = err.get("type")
        msg = str(err.get("message") or "").strip()[:500]
        return f"{kind}: {msg}" if kind else msg
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:200] or httpx.codes.get_reason_phrase(status)


def _asks_schema(body: dict[str, object]) -> bool:
    """Whether this body asked for structured outputs (so a 400 about them means "not supported")."""
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") == "json_schema"


class LLMClient:
    """Use as `async with LLMClient(...) as client: await client.complete(messages)`."""

    def __init__(
        self,
        wire: WireFormat,
        *,
        model: str,
        temperature: float,
        timeout: float,
        concurrency: int,
        policy: RetryPolicy,
        max_reply_bytes: int = 65_536,
        secrets: Sequence[str] = (),
        rng: random.Random | None = None,
        deadline: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> None:
        self.wire = wire
        # The reply schema for structured outputs; dropped for the rest of the run (JSON mode) when
        # the server refuses `response_format`, and `schema_fallback` says why.
        self.json_schema = json_schema
        self.schema_fallback: str | None = None
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
        self.concurrency = concurrency
        self.policy = policy
        self.max_reply_bytes = max_reply_bytes
        self.deadline = deadline  # time.monotonic() past which no attempt runs (the run's deadline)
        self._secrets = tuple(secrets)
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._pause_until = 0.0  # monotonic time before which no request starts (after a 429)
        self._http: httpx.AsyncClient | None = None

    @property
    def attempt_horizon_s(self) -> float:
        """The longest one attempt plus the wait before the next can take: a ledger row's lifetime."""
        return self.timeout + max(self.policy.cap_s, self.policy.retry_after_cap_s) + 1.0

    async def __aenter__(self) -> LLMClient:
        # Connection limits match the concurrency: every worker keeps a warm connection, no more.
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            headers={"Accept-Encoding": "identity"},  # see core.labeling.llm.body
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)

    async def complete(self, messages: list[Message], before_retry: BeforeRetry | None = None) -> Completion:
        """Send one logical request, retrying transient failures; see the module docstring."""
        if self._http is None:
            raise RuntimeError("LLMClient used outside `async with`")
        billable = _Billable(estimate_usage(messages, "").tokens_in)
        started = time.perf_counter()
        last: _Retry | None = None
        attempts = 0
        limit = self.policy.max_retries + 1
        async with self._semaphore:
            attempt = 0
            while attempt < limit:
                attempt += 1
                body = self.wire.body(
                    messages, model=self.model, temperature=self.temperature, json_schema=self.json_schema
                )
                if attempt > 1 and last is not None:
                    await self._wait_before_retry(attempt, last, billable, started)
                    if before_retry is not None and not await before_retry(attempt):
                        reason = f"{last.reason}; the run stopped before a retry"
                        self._fail(RetryAbandoned, reason, attempt - 1, last.status, started, billable)
                await self._respect_pause()
                attempts = attempt
                try:
                    return await self._attempt(body, messages, attempt, started, billable)
                except _Retry as retry:
                    last = retry
                    log.debug("LLM attempt %d failed (%s); will retry", attempt, retry.reason)
                except _SchemaRefused as refused:
                    self._use_json_mode(str(refused))
                    limit += 1  # the fallback is sent at once and is not one of the retries
                    last = None
        assert last is not None
        reason = f"{last.reason} (gave up after {attempts} attempts)"
        self._fail(LLMCallFailed, reason, attempts, last.status, started, billable)

    async def _wait_before_retry(
        self, attempt: int, last: _Retry, billable: _Billable, started: float
    ) -> None:
        delay = self.policy.delay(attempt - 1, last.retry_after, self._rng)
        if self.deadline is not None and time.monotonic() + delay >= self.deadline:
            reason = f"{last.reason}; no time left before the run's deadline to retry"
            self._fail(LLMCallFailed, reason, attempt - 1, last.status, started, billable)
        if last.status == 429:
            self._pause_until = max(self._pause_until, time.monotonic() + delay)
        await asyncio.sleep(delay)

    def _use_json_mode(self, reason: str) -> None:
        """Fall back, once per run, from the schema to plain JSON mode, and say so."""
        if self.schema_fallback is None and self.json_schema is not None:
            self.schema_fallback = (
                f"the {self.wire.provider} server refused structured outputs ({reason}); "
                "this run fell back to plain JSON mode (LLM_STRUCTURED_OUTPUTS=false skips the schema)"
            )
            log.warning("%s", self.schema_fallback)
        self.json_schema = None

    def _fail(
        self,
        kind: type[LLMCallFailed],
        reason: str,
        attempts: int,
        status: int | None,
        started: float,
        billable: _Billable,
    ) -> NoReturn:
        raise kind(
            self._clean(reason),
            attempts=attempts,
            http_status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            usage=billable.usage(),
            reply_bytes=billable.reply_bytes,
        )

    async def _respect_pause(self) -> None:
        wait = self._pause_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _attempt_budget(self) -> float:
        """Seconds this attempt may take in all: the configured timeout, cut by the run's deadline."""
        if self.deadline is None:
            return self.timeout
        return min(self.timeout, self.deadline - time.monotonic())

    async def _attempt(
        self,
        body: dict[str, object],
        messages: list[Message],
        attempt: int,
        started: float,
        billable: _Billable,
    ) -> Completion:
        assert self._http is not None
        budget = self._attempt_budget()
        if budget <= 0:
            raise LLMCallFailed(
                "the run's deadline passed before the request was sent",
                attempts=attempt - 1,
                http_status=None,
                latency_ms=(time.perf_counter() - started) * 1000,
                usage=billable.usage(),
                reply_bytes=billable.reply_bytes,
            )
        try:
            async with asyncio.timeout(budget):
                request = self._http.stream("POST", self.wire.url, json=body, headers=self.wire.headers())
                async with request as response:
                    structured = _asks_schema(body)
                    return await self._read(response, messages, attempt, started, billable, structured)
        except TimeoutError:
            raise _Retry(f"timed out: no complete reply within the attempt's {budget:g} s deadline") from None
        except httpx.TimeoutException:
            raise _Retry(f"timed out after {self.timeout:g} s without a byte from the server") from None
        except httpx.TransportError as exc:
            raise _Retry(f"transport error: {type(exc).__name__}") from None

    async def _read(
        self,
        response: httpx.Response,
        messages: list[Message],
        attempt: int,
        started: float,
        billable: _Billable,
        structured: bool = False,
    ) -> Completion:
        status = response.status_code
        if status >= 300:
            body = await self._error_body(response)
            self._refuse(status, body, response, attempt, started, structured)
        earlier = billable.usage()  # attempts before this one that were cut off mid-body
        billable.replies += 1
        reader = BoundedBody(self.max_reply_bytes, response.headers.get("content-encoding"))
        before = billable.reply_bytes
        try:
            async for chunk in response.aiter_raw():
                try:
                    reader.feed(chunk)
                finally:  # counted as it arrives, so a deadline or the cap mid-body still bills it
                    billable.reply_bytes = before + reader.received
        except BodyTooLarge as big:
            raise ReplyTooLarge(
                f"reply larger than {self.max_reply_bytes:,} bytes (LLM_MAX_REPLY_BYTES); "
                "reading stopped there and it was not parsed",
                excerpt=self._clean(big.head.decode("utf-8", "replace")),
                attempts=attempt,
                http_status=status,
                latency_ms=(time.perf_counter() - started) * 1000,
                usage=billable.usage(),
                reply_bytes=billable.reply_bytes,
            ) from None
        except UnsupportedEncoding as exc:
            self._malformed(str(exc), attempt, status, started, billable)
        return self._parse(reader.data(), messages, attempt, status, started, billable, earlier)

    async def _error_body(self, response: httpx.Response) -> bytes:
        reader = BoundedBody(ERROR_BODY_BYTES)
        try:
            async for chunk in response.aiter_raw():
                reader.feed(chunk)
        except (BodyTooLarge, UnsupportedEncoding):
            pass  # the start of it explains enough
        return reader.data()

    def _refuse(
        self,
        status: int,
        body: bytes,
        response: httpx.Response,
        attempt: int,
        started: float,
        structured: bool = False,
    ) -> NoReturn:
        """A non-2xx reply: the key refused (stop the run), worth a retry, or final."""
        explained = error_message(status, body)
        if status in AUTH_STATUSES:
            error = LLMAuthError(
                self._clean(
                    f"the {self.wire.provider} API refused the credentials (HTTP {status}: "
                    f"{explained}); check the API key settings"
                )
            )
            error.http_status = status  # type: ignore[attr-defined]
            raise error from None
        if status == 400 and structured and "response_format" in explained:
            raise _SchemaRefused(self._clean(f"HTTP 400: {explained}"))
        if is_retryable(status):
            raise _Retry(
                self._clean(f"HTTP {status}: {explained}"),
                status,
                parse_retry_after(response.headers.get("retry-after")),
            )
        raise LLMCallFailed(
            self._clean(f"HTTP {status}: {explained}"),
            attempts=attempt,
            http_status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _parse(
        self,
        raw: bytes,
        messages: list[Message],
        attempt: int,
        status: int,
        started: float,
        billable: _Billable,
        earlier: Usage | None,
    ) -> Completion:
        try:
            text, usage = self.wire.parse(json.loads(raw))
        except (json.JSONDecodeError, UnicodeDecodeError, MalformedEnvelope) as exc:
            reason = str(exc) if isinstance(exc, MalformedEnvelope) else "response body is not JSON"
            self._malformed(reason, attempt, status, started, billable)
        # This reply at its own count; earlier attempts cut off mid-body at an estimate of theirs.
        total = usage or estimate_usage(messages, text)
        return Completion(
            text=self._clean(text),  # a key echoed in a reply is never stored, cached or shown
            usage=total + earlier if earlier else total,
            attempts=attempt,
            latency_ms=(time.perf_counter() - started) * 1000,
            http_status=status,
            reply_bytes=billable.reply_bytes,
        )

    def _malformed(
        self, reason: str, attempt: int, status: int, started: float, billable: _Billable
    ) -> NoReturn:
        raise LLMCallFailed(
            self._clean(f"malformed {self.wire.provider} response: {reason}"),
            attempts=attempt,
            http_status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            usage=billable.usage(),
            reply_bytes=billable.reply_bytes,
        )
