"""Labeling many points through the LLM at once: cache first, then bounded concurrent requests.

Bound only by the API: `LLM_CONCURRENCY` workers pull points from one queue, each reserving its
expected cost from the daily budget before sending. Results are written in batches from a
worker thread while requests continue. Stops are clean: a budget stop lets requests already in
flight finish; a refused key (401/403) or a cancel stops everything at once. Either way every
finished point is kept and the rest are counted as not attempted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.errors import LLMAuthError
from core.labeling.llm import cache, ledger
from core.labeling.llm.base import LLMCallFailed, Message, WireFormat, estimate_tokens
from core.labeling.llm.budget import Budget
from core.labeling.llm.client import LLMClient
from core.labeling.llm.retry import RetryPolicy
from core.labeling.schema import LabelRecord, validate_reply
from core.labeling.writer import LabelWriter, Outcome
from core.settings import Settings

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 1.0  # write a partial batch at least this often, so a slow API still persists labels


@dataclass
class PointRequest:
    ts: datetime
    current_price: float
    context: dict[str, object]
    messages: list[Message]
    key: str
    expected_cost_usd: float


@dataclass
class RunStop:
    """Why the network phase ended early (None: it did not)."""

    reason: str | None = None  # budget_exhausted | cancelled | auth_failed
    message: str | None = None
    error: LLMAuthError | None = None


def request_params(settings: Settings) -> dict[str, object]:
    """Every parameter that shapes the reply besides the messages (part of the cache key)."""
    return {"temperature": settings.freddy_temperature, "response_format": "json_object"}


def expected_cost(settings: Settings, model: str, messages: list[Message]) -> float:
    tokens_in = sum(estimate_tokens(m["content"]) for m in messages)
    return ledger.cost_usd(settings, model, tokens_in, ledger.EXPECTED_OUTPUT_TOKENS)


class LLMLabelRun:
    def __init__(
        self,
        *,
        settings: Settings,
        wire: WireFormat,
        writer: LabelWriter,
        budget: Budget,
        points: list[PointRequest],
        max_age_s: float | None,
        bypass_cache: bool,
        on_done: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.wire = wire
        self.model = settings.llm_model
        self.writer = writer
        self.budget = budget
        self.points = points
        self.max_age_s = max_age_s
        self.bypass_cache = bypass_cache
        self.on_done = on_done
        self.should_cancel = should_cancel
        self.stop = RunStop()
        self.done = 0
        self.rejected = 0
        self._buffer: list[Outcome] = []
        self._flushes: list[asyncio.Task[None]] = []
        self._last_flush = time.monotonic()
        self._workers: list[asyncio.Task[None]] = []
        self.batch_size = max(4, settings.llm_concurrency)

    async def run(self) -> RunStop:
        try:
            pending = await self._answer_from_cache()
            if pending and self.stop.reason is None:
                await self._ask(pending)
        finally:  # whatever happens, every finished point is written
            self._flush()
            await asyncio.gather(*self._flushes)
        return self.stop

    # --- cache phase --------------------------------------------------------------------------
    async def _answer_from_cache(self) -> list[PointRequest]:
        if self.bypass_cache:
            return list(self.points)

        def read() -> dict[str, cache.CachedReply]:
            with self.writer.db.read() as session:
                return cache.lookup(session, (p.key for p in self.points), max_age_s=self.max_age_s)

        hits = await asyncio.to_thread(read)
        pending = []
        for point in self.points:
            hit = hits.get(point.key)
            if hit is None:
                pending.append(point)
                continue
            record = self._validate(point, hit.text)
            call = self._call_row(point, "cached")
            self._finish(Outcome(record, call))
        self._flush()
        return pending

    # --- network phase ------------------------------------------------------------------------
    async def _ask(self, pending: list[PointRequest]) -> None:
        queue = deque(pending)
        client = LLMClient(
            self.wire,
            model=self.model,
            temperature=self.settings.freddy_temperature,
            timeout=self.settings.freddy_timeout,
            concurrency=self.settings.llm_concurrency,
            policy=RetryPolicy(max_retries=self.settings.llm_max_retries),
            secrets=self.settings.secret_values(),
        )
        async with client:
            n = min(self.settings.llm_concurrency, len(queue))
            self._workers = [asyncio.create_task(self._worker(client, queue)) for _ in range(n)]
            await asyncio.wait(self._workers)
        for task in self._workers:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _worker(self, client: LLMClient, queue: deque[PointRequest]) -> None:
        try:
            while queue and self.stop.reason is None:
                if self.should_cancel is not None and self.should_cancel():
                    self._halt("cancelled", "cancelled on request; finished labels are kept")
                    return
                point = queue.popleft()
                if not self.budget.try_reserve(point.expected_cost_usd):
                    queue.appendleft(point)
                    self._halt(
                        "budget_exhausted",
                        f"daily LLM budget of ${self.budget.limit_usd:.2f} reached "
                        f"(LLM_DAILY_BUDGET_USD); finished labels are kept",
                    )
                    return
                await self._ask_one(client, point)
        except asyncio.CancelledError:
            return  # another worker stopped the run; this point counts as not attempted

    async def _ask_one(self, client: LLMClient, point: PointRequest) -> None:
        reserved = point.expected_cost_usd
        try:
            completion = await client.complete(point.messages)
        except LLMAuthError as exc:
            self.budget.settle(reserved, 0.0)
            row = self._call_row(
                point, "error", error=str(exc), http_status=getattr(exc, "http_status", None)
            )
            self._finish(Outcome(None, row), counts_as_done=False)
            self._halt("auth_failed", str(exc), exc)
            return
        except LLMCallFailed as exc:
            self.budget.settle(reserved, 0.0)
            record = LabelRecord(
                ts=point.ts,
                current_price=point.current_price,
                status="rejected",
                reject_reason=f"LLM request failed: {exc}",
                context=point.context,
            )
            row = self._call_row(
                point,
                "error",
                error=str(exc),
                http_status=exc.http_status,
                attempts=exc.attempts,
                latency_ms=exc.latency_ms,
            )
            self._finish(Outcome(record, row))
            return
        usage = completion.usage
        cost = ledger.cost_usd(self.settings, self.model, usage.tokens_in, usage.tokens_out)
        self.budget.settle(reserved, cost)
        record = self._validate(point, completion.text)
        row = self._call_row(
            point,
            "ok",
            http_status=completion.http_status,
            attempts=completion.attempts,
            latency_ms=completion.latency_ms,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost_usd=cost,
        )
        entry = None
        if record.accepted:
            entry = cache.CacheEntry(
                point.key, self.wire.provider, self.model, completion.text, usage.tokens_in, usage.tokens_out
            )
        self._finish(Outcome(record, row, entry, tokens_estimated=usage.estimated))

    def _halt(self, reason: str, message: str, error: LLMAuthError | None = None) -> None:
        if self.stop.reason is not None:
            return
        self.stop = RunStop(reason, message, error)
        if reason in ("auth_failed", "cancelled"):
            current = asyncio.current_task()
            for task in self._workers:
                if task is not current:
                    task.cancel()

    # --- bookkeeping --------------------------------------------------------------------------
    def _validate(self, point: PointRequest, text: str) -> LabelRecord:
        return validate_reply(text, ts=point.ts, current_price=point.current_price, context=point.context)

    def _call_row(self, point: PointRequest, status: str, **fields: object) -> ledger.CallRow:
        return ledger.CallRow(
            label_set_id=self.writer.label_set_id,
            provider=self.wire.provider,
            model=self.model,
            cache_key=point.key,
            status=status,
            **fields,  # type: ignore[arg-type]
        )

    def _finish(self, outcome: Outcome, counts_as_done: bool = True) -> None:
        self._buffer.append(outcome)
        if counts_as_done:
            self.done += 1
            self.rejected += outcome.record is not None and not outcome.record.accepted
            if self.on_done is not None:
                self.on_done(self.done, self.rejected)
        if len(self._buffer) >= self.batch_size or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._last_flush = time.monotonic()
        # Not a worker's task: cancelling workers on a stop must never abandon a write.
        self._flushes.append(asyncio.ensure_future(asyncio.to_thread(self.writer.write, batch)))
