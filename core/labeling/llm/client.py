"""The async LLM client: one `httpx.AsyncClient` per run, bounded concurrency, retries, timeouts.

It returns a `Completion` or raises `LLMCallFailed` (this request gave up) or `LLMAuthError`
(the credentials are refused; the caller stops the whole run). Messages in those errors are
redacted of every configured secret, and httpx's own exceptions (which carry the request) are
never chained onto them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Sequence
from types import TracebackType

import httpx

from core.errors import LLMAuthError
from core.labeling.llm.base import (
    Completion,
    LLMCallFailed,
    MalformedEnvelope,
    Message,
    WireFormat,
    error_message,
    estimate_usage,
    redact,
)
from core.labeling.llm.retry import AUTH_STATUSES, RetryPolicy, is_retryable, parse_retry_after

log = logging.getLogger(__name__)


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after


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
        secrets: Sequence[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.wire = wire
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
        self.concurrency = concurrency
        self.policy = policy
        self._secrets = tuple(secrets)
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._pause_until = 0.0  # monotonic time before which no request starts (after a 429)
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> LLMClient:
        # Connection limits match the concurrency: every worker keeps a warm connection, no more.
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout), limits=limits)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)

    async def complete(self, messages: list[Message]) -> Completion:
        """Send one logical request, retrying transient failures; see the module docstring."""
        if self._http is None:
            raise RuntimeError("LLMClient used outside `async with`")
        body = self.wire.body(messages, model=self.model, temperature=self.temperature)
        started = time.perf_counter()
        last: _Retry | None = None
        async with self._semaphore:
            for attempt in range(1, self.policy.max_retries + 2):
                if attempt > 1 and last is not None:
                    delay = self.policy.delay(attempt - 1, last.retry_after, self._rng)
                    if last.status == 429:
                        self._pause_until = max(self._pause_until, time.monotonic() + delay)
                    await asyncio.sleep(delay)
                await self._respect_pause()
                try:
                    return await self._attempt(body, messages, attempt, started)
                except _Retry as retry:
                    last = retry
                    log.debug("LLM attempt %d failed (%s); will retry", attempt, retry.reason)
        assert last is not None
        raise LLMCallFailed(
            self._clean(f"{last.reason} (gave up after {self.policy.max_retries + 1} attempts)"),
            attempts=self.policy.max_retries + 1,
            http_status=last.status,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def _respect_pause(self) -> None:
        wait = self._pause_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _attempt(
        self, body: dict[str, object], messages: list[Message], attempt: int, started: float
    ) -> Completion:
        assert self._http is not None
        try:
            response = await self._http.post(self.wire.url, json=body, headers=self.wire.headers())
        except httpx.TimeoutException:
            raise _Retry(f"timed out after {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry(f"transport error: {type(exc).__name__}") from None
        status = response.status_code
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status in AUTH_STATUSES:
            error = LLMAuthError(
                self._clean(
                    f"the {self.wire.provider} API refused the credentials (HTTP {status}: "
                    f"{error_message(response)}); check the API key settings"
                )
            )
            error.http_status = status  # type: ignore[attr-defined]
            raise error from None
        if is_retryable(status):
            raise _Retry(
                self._clean(f"HTTP {status}: {error_message(response)}"),
                status,
                parse_retry_after(response.headers.get("retry-after")),
            )
        if status >= 400:
            raise LLMCallFailed(
                self._clean(f"HTTP {status}: {error_message(response)}"),
                attempts=attempt,
                http_status=status,
                latency_ms=elapsed_ms,
            )
        try:
            text, usage = self.wire.parse(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError, MalformedEnvelope) as exc:
            reason = str(exc) if isinstance(exc, MalformedEnvelope) else "response body is not JSON"
            raise LLMCallFailed(
                self._clean(f"malformed {self.wire.provider} response: {reason}"),
                attempts=attempt,
                http_status=status,
                latency_ms=elapsed_ms,
            ) from None
        return Completion(
            text=text,
            usage=usage or estimate_usage(messages, text),
            attempts=attempt,
            latency_ms=elapsed_ms,
            http_status=status,
        )
