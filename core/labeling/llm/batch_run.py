"""Labeling through the provider's batch API: half price for work that can wait hours.

The run, in order, each step stored before the next so a restart picks up where it stopped:
1. cached replies answer what they can (as in the synchronous run);
2. the rest are reserved on the ledger at batch prices, in one transaction, as far as today's
   budget allows (the rest are not attempted: `budget_exhausted`), under a `llm_batches` row
   keyed by the requests themselves (`request_key`);
3. the JSONL is uploaded and the batch created, their ids stored on that row;
4. the batch is polled (`LLM_BATCH_POLL_S`) with progress reported; a cancel asks the provider
   to cancel and keeps what finished;
5. the output and error files are read: each reply is validated and settled at its real batch
   cost, each failed or expired request settled at nothing and stored rejected with why.

A process that dies anywhere after step 2 leaves the row open; a new run of the same points
(same request key) adopts it, moves its ledger rows to the new label set, and resumes at the
step it had reached: an uploaded file is not uploaded again, a created batch is polled, never
created twice. The ledger rows stay `sent` (charged their reservation) while the batch runs,
and expire only after the 24 h completion window.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.db.database import Database
from core.db.models import LabelSet, LLMBatch, LLMCall
from core.labeling.llm import cache, ledger
from core.labeling.llm import point_end as outcome
from core.labeling.llm.batch_api import ENDPOINT, TERMINAL, BatchAPI
from core.labeling.llm.point_end import PointRequest
from core.labeling.llm.runner import RunStop, uses_schema
from core.labeling.schema import LABEL_JSON_SCHEMA, LabelRecord
from core.labeling.writer import LabelWriter, Outcome
from core.llm_providers.wire import MalformedEnvelope, WireFormat, estimate_usage
from core.settings import Settings

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)  # the completion window asked for
LEDGER_GRACE = timedelta(hours=1)  # a row outlives the window by this much before it counts as lost
OPEN_STATUSES = ("preparing", "validating", "in_progress", "finalizing", "cancelling")
RESULT_CHUNK = 200


def request_key(model: str, points: list[PointRequest]) -> str:
    """The identity of a batch's work: its model and the cache keys of its requests."""
    text = model + "\n" + "\n".join(sorted(p.key for p in points))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class BatchProgress:
    status: str
    total: int
    completed: int = 0
    failed: int = 0

    def text(self) -> str:
        return f"batch {self.status}: {self.completed + self.failed}/{self.total} done"


@dataclass
class BatchLabelRun:
    settings: Settings
    wire: WireFormat
    writer: LabelWriter
    points: list[PointRequest]
    max_age_s: float | None
    bypass_cache: bool
    on_done: Callable[[int, int], None] | None = None
    on_stage: Callable[[str], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    sleep: Callable[[float], None] = time.sleep
    stop: RunStop = field(default_factory=RunStop)
    done: int = 0
    rejected: int = 0

    @property
    def model(self) -> str:
        return self.settings.llm_options.model

    def run(self) -> RunStop:
        pending = self._answer_from_cache()
        if not pending:
            return self.stop
        api = BatchAPI(
            self.wire.base_url,  # type: ignore[attr-defined]
            self.wire.headers(),
            timeout=self.settings.llm_options.timeout_s,
            secrets=tuple(self.settings.secret_values()),
        )
        try:
            batch_id, calls = self._adopt(pending) or self._reserve(pending)
            if not calls:
                return self.stop
            remote_id = self._submit(api, batch_id, calls)
            final = self._poll(api, batch_id, remote_id)
            self._collect(api, batch_id, final, calls)
        finally:
            api.close()
        return self.stop

    # --- 1. the cache ---------------------------------------------------------------------------
    def _answer_from_cache(self) -> list[PointRequest]:
        if self.bypass_cache:
            return list(self.points)
        with self.writer.db.read() as session:
            hits = cache.lookup(session, (p.key for p in self.points), max_age_s=self.max_age_s)
        pending, found = [], []
        for point in self.points:
            hit = hits.get(point.key)
            if hit is None:
                pending.append(point)
            else:
                found.append(Outcome(outcome.label_from_reply(point, hit.text), self._row(point, "cached")))
        self._write(found)
        return pending

    # --- 2. reservations, or the open batch of the same work -------------------------------------
    def _adopt(self, pending: list[PointRequest]) -> tuple[int, dict[int, PointRequest]] | None:
        """The open batch of exactly these requests (a run that died), moved to this label set."""
        key = request_key(self.model, pending)
        set_id = self.writer.label_set_id
        with self.writer.db.session() as session:
            batch = session.scalars(
                select(LLMBatch)
                .where(LLMBatch.request_key == key, LLMBatch.status.in_(OPEN_STATUSES))
                .order_by(LLMBatch.id.desc())
                .limit(1)
            ).first()
            if batch is None:
                return None
            earlier = batch.label_set_id
            batch.label_set_id = set_id
            session.execute(update(LLMCall).where(LLMCall.batch_id == batch.id).values(label_set_id=set_id))
            if earlier is not None and earlier != set_id:
                old = session.get(LabelSet, earlier)
                if old is not None and old.status == "running":
                    old.status = "interrupted"
                    old.message = f"its process ended mid-batch; label set {set_id} resumed the batch"
            rows = session.execute(
                select(LLMCall.id, LLMCall.cache_key).where(
                    LLMCall.batch_id == batch.id, LLMCall.status == "sent"
                )
            ).all()
            batch_id = batch.id
        by_key = {p.key: p for p in pending}
        calls = {int(call_id): by_key[k] for call_id, k in rows if k in by_key}
        self.writer.recount()
        log.info("resuming LLM batch %d (%d requests) for label set %d", batch_id, len(calls), set_id)
        return batch_id, calls

    def _reserve(self, pending: list[PointRequest]) -> tuple[int, dict[int, PointRequest]]:
        with self.writer.db.session() as session:
            batch = LLMBatch(
                label_set_id=self.writer.label_set_id,
                provider=self.wire.provider,
                model=self.model,
                request_key=request_key(self.model, pending),
                status="preparing",
                requests=0,
                completed=0,
                failed=0,
            )
            session.add(batch)
            session.flush()
            batch_id = batch.id
        reserved = [
            ledger.reservation_usd(self.settings, self.model, p.messages, batch=True) for p in pending
        ]
        rows = [self._row(p, "sent", batch_id) for p in pending]
        ids = self.writer.open_calls(
            rows,
            reserved,
            limit_usd=self.settings.llm_daily_budget_usd,
            expires_at=datetime.now(UTC) + WINDOW + LEDGER_GRACE,
        )
        calls = dict(zip(ids, pending, strict=False))
        with self.writer.db.session() as session:
            batch_row = session.get(LLMBatch, batch_id)
            assert batch_row is not None
            batch_row.requests = len(calls)
            if not calls:
                batch_row.status = "collected"
                batch_row.error = "nothing fitted today's budget"
        if len(calls) < len(pending):
            limit = self.settings.llm_daily_budget_usd
            self.stop = RunStop(
                "budget_exhausted",
                f"daily LLM budget of ${limit:.2f} reached (LLM_DAILY_BUDGET_USD): {len(calls)} of "
                f"{len(pending)} requests went into the batch; finished labels are kept",
            )
        return batch_id, calls

    # --- 3. upload and create (each id stored as soon as it exists) -------------------------------
    def _submit(self, api: BatchAPI, batch_id: int, calls: dict[int, PointRequest]) -> str:
        with self.writer.db.read() as session:
            batch = session.get(LLMBatch, batch_id)
            assert batch is not None
            input_file_id, remote_id = batch.input_file_id, batch.remote_id
        if remote_id:
            return remote_id
        if input_file_id is None:
            input_file_id = api.upload(self._jsonl(calls))
            self._update(batch_id, input_file_id=input_file_id)
        created = api.create(input_file_id, {"label_set": str(self.writer.label_set_id)})
        remote_id = str(created["id"])
        self._update(batch_id, remote_id=remote_id, status=str(created.get("status") or "validating"))
        log.info("LLM batch %d submitted as %s with %d requests", batch_id, remote_id, len(calls))
        if self.on_stage is not None:
            self.on_stage(f"batch submitted: {len(calls)} requests")
        return remote_id

    def _jsonl(self, calls: dict[int, PointRequest]) -> bytes:
        options = self.settings.llm_options
        schema = LABEL_JSON_SCHEMA if uses_schema(options) else None
        lines = []
        for call_id, point in calls.items():
            body = self.wire.body(
                point.messages, model=self.model, temperature=options.temperature, json_schema=schema
            )
            line = {"custom_id": f"call-{call_id}", "method": "POST", "url": ENDPOINT, "body": body}
            lines.append(_dumps(line))
        return ("\n".join(lines) + "\n").encode()

    # --- 4. polling -----------------------------------------------------------------------------
    def _poll(self, api: BatchAPI, batch_id: int, remote_id: str) -> dict[str, Any]:
        cancel_sent = False
        while True:
            if not cancel_sent and self.should_cancel is not None and self.should_cancel():
                api.cancel(remote_id)
                cancel_sent = True
                log.info("LLM batch %d: cancel requested", batch_id)
            info = api.get(remote_id)
            status = str(info.get("status"))
            counts = info.get("request_counts") or {}
            progress = BatchProgress(
                status,
                int(counts.get("total") or 0),
                int(counts.get("completed") or 0),
                int(counts.get("failed") or 0),
            )
            self._update(batch_id, status=status, completed=progress.completed, failed=progress.failed)
            if self.on_stage is not None:
                self.on_stage(progress.text())
            if status in TERMINAL:
                return info
            self.sleep(self.settings.llm_batch_poll_s)

    # --- 5. results -----------------------------------------------------------------------------
    def _collect(
        self, api: BatchAPI, batch_id: int, info: dict[str, Any], calls: dict[int, PointRequest]
    ) -> None:
        status = str(info.get("status"))
        lines: dict[int, dict[str, Any]] = {}
        for file_key in ("output_file_id", "error_file_id"):
            if info.get(file_key):
                for line in api.content(str(info[file_key])):
                    call_id = _call_id(line.get("custom_id"))
                    if call_id in calls:
                        lines[call_id] = line
        results: list[tuple[int, ledger.CallResult]] = []
        finished: list[Outcome] = []
        why_missing = _missing_reason(status, info)
        for call_id, point in calls.items():
            line = lines.get(call_id)
            if line is None:
                results.append((call_id, _error_result(why_missing)))
                if status != "cancelled":  # a cancelled batch's unrun requests are simply not attempted
                    finished.append(Outcome(_rejected(point, why_missing), call_id=call_id))
                continue
            result, done = self._result(point, call_id, line)
            results.append((call_id, result))
            finished.append(done)
        for start in range(0, len(results), RESULT_CHUNK):
            self.writer.close_calls(results[start : start + RESULT_CHUNK])
        self._write(finished)
        self._update(batch_id, status="collected", finished_at=datetime.now(UTC), error=None)
        if status == "cancelled" and self.stop.reason is None:
            self.stop = RunStop("cancelled", "cancelled on request; the batch's finished labels are kept")

    def _result(
        self, point: PointRequest, call_id: int, line: dict[str, Any]
    ) -> tuple[ledger.CallResult, Outcome]:
        response = line.get("response") or {}
        code = response.get("status_code")
        if code == 200:
            try:
                text, usage = self.wire.parse(response.get("body"))
            except MalformedEnvelope as exc:
                reason = f"malformed batch result: {exc}"
                return _error_result(reason), Outcome(_rejected(point, reason), call_id=call_id)
            usage = usage or estimate_usage(point.messages, text)
            record = outcome.label_from_reply(point, text)
            cost = ledger.cost_usd(self.settings, self.model, usage.tokens_in, usage.tokens_out, batch=True)
            result = ledger.CallResult(
                status="ok",
                attempts=1,
                latency_ms=0.0,
                cost_usd=cost,
                http_status=200,
                tokens_in=usage.tokens_in,
                tokens_out=usage.tokens_out,
                reply_valid=record.accepted,
            )
            entry = None
            if record.accepted:
                entry = cache.CacheEntry(
                    point.key, self.wire.provider, self.model, text, usage.tokens_in, usage.tokens_out
                )
            return result, Outcome(
                record, call_id=call_id, cache_entry=entry, tokens_estimated=usage.estimated
            )
        error = line.get("error") or (response.get("body") or {}).get("error") or {}
        kind = code or error.get("code") or "no status"
        reason = f"batch request failed ({kind}): {error.get('message') or error}"
        return _error_result(reason, code), Outcome(_rejected(point, reason), call_id=call_id)

    # --- bookkeeping ----------------------------------------------------------------------------
    def _row(self, point: PointRequest, status: str, batch_id: int | None = None) -> ledger.CallRow:
        return ledger.CallRow(
            label_set_id=self.writer.label_set_id,
            provider=self.wire.provider,
            model=self.model,
            cache_key=point.key,
            status=status,
            reply_valid=True if status == "cached" else None,
            batch_id=batch_id,
        )

    def _update(self, batch_id: int, **values: Any) -> None:
        with self.writer.db.session() as session:
            session.execute(
                update(LLMBatch).where(LLMBatch.id == batch_id).values(updated_at=datetime.now(UTC), **values)
            )

    def _write(self, batch: list[Outcome]) -> None:
        for start in range(0, len(batch), RESULT_CHUNK):
            part = batch[start : start + RESULT_CHUNK]
            self.writer.write(part)
            for done in part:
                if done.record is None:
                    continue
                self.done += 1
                self.rejected += not done.record.accepted
            if self.on_done is not None and part:
                self.on_done(self.done, self.rejected)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _call_id(custom_id: object) -> int | None:
    if isinstance(custom_id, str) and custom_id.startswith("call-") and custom_id[5:].isdigit():
        return int(custom_id[5:])
    return None


def _missing_reason(status: str, info: dict[str, Any]) -> str:
    if status == "failed":
        errors = (info.get("errors") or {}).get("data") or []
        detail = "; ".join(str(e.get("message") or e.get("code")) for e in errors[:3]) or "no detail"
        return f"the batch failed: {detail}"
    if status == "expired":
        return "the batch expired before this request ran; a new run asks again"
    if status == "cancelled":
        return "the batch was cancelled before this request ran"
    return f"the batch ended {status} without a result for this request"


def _error_result(reason: str, code: int | None = None) -> ledger.CallResult:
    """A batch request that produced no reply: not billed."""
    return ledger.CallResult(
        status="error", attempts=1, latency_ms=0.0, cost_usd=0.0, http_status=code, error=reason[:1000]
    )


def _rejected(point: PointRequest, reason: str) -> LabelRecord:
    record = LabelRecord(
        ts=point.ts,
        current_price=point.current_price,
        status="rejected",
        reject_reason=reason[:1000],
        context=point.context,
    )
    record.knowledge_cutoff = point.knowledge_cutoff
    record.pre_cutoff = point.pre_cutoff
    return record


@dataclass(frozen=True)
class BatchState:
    """Where a provider batch stands: its status and how many of its requests are done."""

    status: str
    requests: int
    completed: int
    failed: int


def newest_batch(db: Database, label_set_id: int) -> BatchState | None:
    """The newest provider batch of a label set, or None when it sent none."""
    query = (
        select(LLMBatch).where(LLMBatch.label_set_id == label_set_id).order_by(LLMBatch.id.desc()).limit(1)
    )
    with db.read() as session:
        batch = session.scalars(query).first()
        if batch is None:
            return None
        return BatchState(batch.status, batch.requests, batch.completed, batch.failed)
