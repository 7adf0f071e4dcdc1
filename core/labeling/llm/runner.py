"""Labeling many points through the LLM at once: cache first, then bounded concurrent requests.

Bound only by the API: `LLM_CONCURRENCY` workers pull points from one queue. Before sending, a
worker reserves the request's expected cost from the one daily budget in the database (the
ledger row goes in with it); the reply settles it. When a reservation does not fit, the worker
waits for this run's requests in flight to settle (they usually cost less than reserved) and
stops the run (`budget_exhausted`) once none are left. Results are written in batches from a
worker thread while requests continue.

Stops are clean: a budget stop or a run deadline lets requests in flight finish; a refused key
(401/403) sends nothing more (requests in flight end, no retry starts); a cancel aborts the
requests in flight too. Either way every finished point is kept and the rest are counted as not
attempted, and every request sent is on the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import LLMAuthError
from core.labeling.llm import cache, ledger
from core.labeling.llm import point_end as outcome
from core.labeling.llm.client import LLMClient
from core.labeling.llm.point_end import PointRequest
from core.labeling.llm.retry import RetryPolicy
from core.labeling.schema import LABEL_JSON_SCHEMA
from core.labeling.writer import LabelWriter, Outcome
from core.llm_providers import LLM_PROVIDERS
from core.llm_providers.wire import LLMCallFailed, RetryAbandoned, WireFormat
from core.settings import LLMOptions, Settings

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 1.0  # write a partial batch at least this often, so a slow API still persists labels
LEDGER_GRACE_S = 30.0  # a `sent` row outlives its request's horizon by this much before it counts as lost

__all__ = ["LLMLabelRun", "PointRequest", "RunStop", "request_params"]


@dataclass
class RunStop:
    """Why the network phase ended early (None: it did not)."""

    reason: str | None = None  # budget_exhausted | cancelled | auth_failed | deadline
    message: str | None = None
    error: LLMAuthError | None = None
    schema_fallback: str | None = None  # set when the server refused structured outputs (any end)


def uses_schema(options: LLMOptions) -> bool:
    """Whether this run's requests carry the label schema as `response_format` (structured outputs)."""
    return options.structured_outputs and LLM_PROVIDERS.load(options.provider).structured_outputs


def request_params(options: LLMOptions) -> dict[str, object]:
    """Every parameter that shapes the reply besides the messages (part of the cache key)."""
    response_format = f"json_schema:{LABEL_JSON_SCHEMA['name']}" if uses_schema(options) else "json_object"
    return {"temperature": options.temperature, "response_format": response_format}


class LLMLabelRun:
    def __init__(
        self,
        *,
        settings: Settings,
        wire: WireFormat,
        writer: LabelWriter,
        points: list[PointRequest],
        max_age_s: float | None,
        bypass_cache: bool,
        on_done: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.settings = settings
        self.options = settings.llm_options
        self.wire = wire
        self.model = self.options.model
        self.writer = writer
        self.points = points
        self.max_age_s = max_age_s
        self.bypass_cache = bypass_cache
        self.on_done = on_done
        self.should_cancel = should_cancel
        self.deadline = deadline  # time.monotonic() by which the run ends; None: no limit
        self.stop = RunStop()
        self.schema_fallback: str | None = None  # why structured outputs were dropped mid-run
        self.done = 0
        self.rejected = 0
        self._buffer: list[Outcome] = []
        self._flushes: list[asyncio.Future[None]] = []
        self._last_flush = time.monotonic()
        self._requests: set[asyncio.Future[object]] = set()
        self._settled = asyncio.Condition()
        self._settle_count = 0
        self.batch_size = max(4, self.options.concurrency)

    async def run(self) -> RunStop:
        try:
            pending = await self._answer_from_cache()
            if pending and self.stop.reason is None:
                await self._ask(pending)
        finally:  # whatever happens, every finished point is written
            self._flush()
            await asyncio.gather(*self._flushes)
        self.stop.schema_fallback = self.schema_fallback
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
            self._finish(Outcome(outcome.label_from_reply(point, hit.text), self._call_row(point, "cached")))
        self._flush()
        return pending

    # --- network phase ------------------------------------------------------------------------
    async def _ask(self, pending: list[PointRequest]) -> None:
        queue = deque(pending)
        options = self.options
        client = LLMClient(
            self.wire,
            model=self.model,
            temperature=options.temperature,
            timeout=options.timeout_s,
            concurrency=options.concurrency,
            policy=RetryPolicy(max_retries=options.max_retries),
            max_reply_bytes=options.max_reply_bytes,
            secrets=self.settings.secret_values(),
            deadline=self.deadline,
            json_schema=LABEL_JSON_SCHEMA if uses_schema(options) else None,
        )
        async with client:
            n = min(options.concurrency, len(queue))
            workers = [asyncio.create_task(self._worker(client, queue)) for _ in range(n)]
            await asyncio.wait(workers)
        self.schema_fallback = client.schema_fallback
        for task in workers:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _worker(self, client: LLMClient, queue: deque[PointRequest]) -> None:
        while queue and self.stop.reason is None:
            if self.should_cancel is not None and self.should_cancel():
                await self._halt("cancelled", "cancelled on request; finished labels are kept")
                return
            if self.deadline is not None and time.monotonic() >= self.deadline:
                await self._halt("deadline", "the run's deadline passed; finished labels are kept")
                return
            point = queue.popleft()
            call_id = await self._reserve(client, point)
            if call_id is None:
                queue.appendleft(point)
                return
            await self._ask_one(client, point, call_id)

    async def _reserve(self, client: LLMClient, point: PointRequest) -> int | None:
        """Reserve the point's cost; wait while this run's requests in flight may free room."""
        while self.stop.reason is None:
            seen = self._settle_count
            call_id = await asyncio.to_thread(
                self.writer.open_call,
                self._call_row(point, "sent"),
                reserved_usd=point.reserve_usd,
                limit_usd=self.settings.llm_daily_budget_usd,
                expires_at=self._expiry(client),
            )
            if call_id is not None:
                return call_id
            if not self._requests:
                limit = self.settings.llm_daily_budget_usd
                message = f"daily LLM budget of ${limit:.2f} reached (LLM_DAILY_BUDGET_USD)"
                await self._halt("budget_exhausted", f"{message}; finished labels are kept")
                return None
            async with self._settled:
                await self._settled.wait_for(lambda seen=seen: self._settle_count > seen or self.stop.reason)
        return None

    def _expiry(self, client: LLMClient) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=client.attempt_horizon_s + LEDGER_GRACE_S)

    async def _ask_one(self, client: LLMClient, point: PointRequest, call_id: int) -> None:
        attempts = 1

        async def before_retry(attempt: int) -> bool:
            nonlocal attempts
            if self.stop.reason in ("auth_failed", "cancelled"):
                return False
            await asyncio.to_thread(self.writer.mark_attempt, call_id, attempt, self._expiry(client))
            attempts = attempt
            return True

        request = asyncio.ensure_future(client.complete(point.messages, before_retry))
        self._requests.add(request)
        try:
            completion = await request
        except asyncio.CancelledError:
            if not request.cancelled():
                raise  # this worker itself was cancelled, not just its request
            await self._settle(call_id, outcome.cancelled_result(point, attempts), None, counts=False)
        except LLMAuthError as exc:
            await self._settle(call_id, outcome.refused_result(exc, attempts), None, counts=False)
            await self._halt("auth_failed", str(exc), exc)
        except RetryAbandoned as exc:
            await self._settle(
                call_id, outcome.failed_result(self.settings, self.model, exc), None, counts=False
            )
        except LLMCallFailed as exc:
            result = outcome.failed_result(self.settings, self.model, exc)
            estimated = exc.usage is not None and exc.usage.estimated
            done = Outcome(
                outcome.label_from_failure(point, exc), call_id=call_id, tokens_estimated=estimated
            )
            await self._settle(call_id, result, done)
        else:
            record = outcome.label_from_reply(point, completion.text)
            entry = None
            if record.accepted:
                usage = completion.usage
                entry = cache.CacheEntry(
                    point.key,
                    self.wire.provider,
                    self.model,
                    completion.text,
                    usage.tokens_in,
                    usage.tokens_out,
                )
            result = outcome.ok_result(self.settings, self.model, completion, valid=record.accepted)
            done = Outcome(
                record, call_id=call_id, cache_entry=entry, tokens_estimated=completion.usage.estimated
            )
            await self._settle(call_id, result, done)
        finally:
            self._requests.discard(request)

    async def _settle(
        self, call_id: int, result: ledger.CallResult, done: Outcome | None, *, counts: bool = True
    ) -> None:
        """Settle the ledger row first (money before labels), then queue the label for its batch."""
        await asyncio.to_thread(self.writer.close_call, call_id, result)
        if done is not None:
            self._finish(done, counts_as_done=counts)
        async with self._settled:
            self._settle_count += 1
            self._settled.notify_all()

    async def _halt(self, reason: str, message: str, error: LLMAuthError | None = None) -> None:
        if self.stop.reason is not None:
            return
        self.stop = RunStop(reason, message, error)
        if reason == "cancelled":
            for request in list(self._requests):
                request.cancel()
        async with self._settled:  # workers waiting for room in the budget look at the stop again
            self._settled.notify_all()

    # --- bookkeeping --------------------------------------------------------------------------
    def _call_row(self, point: PointRequest, status: str) -> ledger.CallRow:
        return ledger.CallRow(
            label_set_id=self.writer.label_set_id,
            provider=self.wire.provider,
            model=self.model,
            cache_key=point.key,
            status=status,
            reply_valid=True if status == "cached" else None,  # only accepted replies are cached
        )

    def _finish(self, done: Outcome, counts_as_done: bool = True) -> None:
        self._buffer.append(done)
        if counts_as_done:
            self.done += 1
            self.rejected += done.record is not None and not done.record.accepted
            if self.on_done is not None:
                self.on_done(self.done, self.rejected)
        if len(self._buffer) >= self.batch_size or time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._last_flush = time.monotonic()
        self._flushes.append(asyncio.ensure_future(asyncio.to_thread(self.writer.write, batch)))
