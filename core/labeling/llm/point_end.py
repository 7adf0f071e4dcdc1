"""One point's request and how it ends: its ledger settlement and its label, both bounded in size.

Pure functions of the reply or the failure, so the runner only sequences them. What is stored
stays small whatever a server sends: an oversized reply keeps a 2 KB excerpt, reasoning and
error texts are cut to a few KB, and the reply itself never exceeds LLM_MAX_REPLY_BYTES.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.errors import LLMAuthError
from core.labeling.llm import ledger
from core.labeling.schema import LabelRecord, validate_reply
from core.llm_providers.wire import Completion, LLMCallFailed, Message, ReplyTooLarge
from core.settings import Settings

MAX_REASONING_CHARS = 2_000  # the prompt asks for two short sentences
MAX_ERROR_CHARS = 1_000
CANCELLED_IN_FLIGHT = "cancelled while in flight; charged at its reservation (the provider may bill it)"


@dataclass
class PointRequest:
    ts: datetime
    current_price: float
    context: dict[str, object]  # exactly what was sent (anonymized when `price_factor` != 1)
    messages: list[Message]
    key: str  # the response-cache key
    reserve_usd: float  # what the request reserves from the daily budget before it is sent
    # Prices sent = real prices x price_factor (anonymized prompts are rebased to 100 at the point).
    price_factor: float = 1.0
    knowledge_cutoff: date | None = None  # the model's training-data cutoff
    pre_cutoff: bool | None = None  # the point lies before it: the model may remember what came next
    news_dropped: int = 0  # headlines newer than the point, or undated for a past point: not sent


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit:,} more characters]"


def ok_result(
    settings: Settings, model: str, completion: Completion, *, valid: bool | None = None
) -> ledger.CallResult:
    usage = completion.usage
    return ledger.CallResult(
        status="ok",
        reply_valid=valid,
        attempts=completion.attempts,
        latency_ms=completion.latency_ms,
        cost_usd=ledger.cost_usd(settings, model, usage.tokens_in, usage.tokens_out),
        http_status=completion.http_status,
        tokens_in=usage.tokens_in,
        tokens_out=usage.tokens_out,
        reply_bytes=completion.reply_bytes,
    )


def failed_result(settings: Settings, model: str, exc: LLMCallFailed) -> ledger.CallResult:
    """A request that gave up: it costs only the reply bodies (or parts) that arrived."""
    usage = exc.usage
    return ledger.CallResult(
        status="error",
        attempts=exc.attempts,
        latency_ms=exc.latency_ms,
        cost_usd=ledger.cost_usd(settings, model, usage.tokens_in, usage.tokens_out) if usage else 0.0,
        http_status=exc.http_status,
        tokens_in=usage.tokens_in if usage else 0,
        tokens_out=usage.tokens_out if usage else 0,
        reply_bytes=exc.reply_bytes,
        error=_clip(str(exc), MAX_ERROR_CHARS),
    )


def refused_result(exc: LLMAuthError, attempts: int) -> ledger.CallResult:
    return ledger.CallResult(
        status="error",
        attempts=attempts,
        latency_ms=0.0,
        cost_usd=0.0,
        http_status=getattr(exc, "http_status", None),
        error=_clip(str(exc), MAX_ERROR_CHARS),
    )


def cancelled_result(point: PointRequest, attempts: int) -> ledger.CallResult:
    return ledger.CallResult(
        status="error",
        attempts=attempts,
        latency_ms=0.0,
        cost_usd=point.reserve_usd,
        error=CANCELLED_IN_FLIGHT,
    )


def _firewall(point: PointRequest, record: LabelRecord) -> LabelRecord:
    record.knowledge_cutoff = point.knowledge_cutoff
    record.pre_cutoff = point.pre_cutoff
    return record


def label_from_reply(point: PointRequest, text: str) -> LabelRecord:
    """Validate the reply in the units it was asked in, then map its prices back to real ones."""
    sent_price = float(point.context.get("current_price", point.current_price))  # type: ignore[arg-type]
    record = validate_reply(text, ts=point.ts, current_price=sent_price, context=point.context)
    record.current_price = point.current_price
    if point.price_factor != 1.0 and record.accepted:
        record.target = float(record.target) / point.price_factor  # type: ignore[arg-type]
        record.stop_loss = float(record.stop_loss) / point.price_factor  # type: ignore[arg-type]
    if record.reasoning is not None:
        record.reasoning = _clip(record.reasoning, MAX_REASONING_CHARS)
    return _firewall(point, record)


def label_from_failure(point: PointRequest, exc: LLMCallFailed) -> LabelRecord:
    """A rejected point with the reason; an oversized reply keeps only its excerpt."""
    excerpt = None
    if isinstance(exc, ReplyTooLarge):
        excerpt = f"{exc.excerpt}… [truncated: {exc.reply_bytes:,} bytes received]"
    record = LabelRecord(
        ts=point.ts,
        current_price=point.current_price,
        status="rejected",
        reject_reason=_clip(f"LLM request failed: {exc}", MAX_ERROR_CHARS),
        raw_reply=excerpt,
        context=point.context,
    )
    return _firewall(point, record)
