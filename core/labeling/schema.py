"""The label schema of CONTRACTS §2 and the validation every labeler's output passes through.

LLM replies, rule labels and hindsight labels all go through `validate_reply`, so a label in
the store means the same thing whoever produced it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

SAMPLINGS = ("uniform", "volatility", "mixed")
Recommendation = Literal["BUY", "SELL", "HOLD"]
Bias = Literal["bullish", "bearish", "neutral"]
MAX_PRICE_DEVIATION = 0.5  # a price more than 50 % from the current price is rejected

# How many bars ahead a label speaks about when it does not say (and how far hindsight looks).
DEFAULT_HORIZON_BARS = {"1m": 30, "5m": 24, "15m": 16, "30m": 12, "1h": 12, "1d": 10, "1wk": 6, "1mo": 3}


# The reply schema as a JSON Schema, sent as `response_format` json_schema with strict decoding by
# OpenAI-compatible servers. Strict mode needs every property required and no others allowed.
LABEL_JSON_SCHEMA: dict[str, Any] = {
    "name": "label",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {
            "target": {"type": "number"},
            "stop_loss": {"type": "number"},
            "confidence": {"type": "number"},
            "recommendation": {"type": "string", "enum": ["BUY", "SELL", "HOLD"]},
            "bias": {"type": "string", "enum": ["bullish", "bearish", "neutral"]},
            "reasoning": {"type": "string"},
            "news_sentiment": {"type": "number"},
            "horizon_bars": {"type": "integer"},
        },
        "required": [
            "target",
            "stop_loss",
            "confidence",
            "recommendation",
            "bias",
            "reasoning",
            "news_sentiment",
            "horizon_bars",
        ],
        "additionalProperties": False,
    },
}


def default_horizon(timeframe: str) -> int:
    return DEFAULT_HORIZON_BARS.get(timeframe, 10)


class LabelReply(BaseModel):
    """One reply object. Numbers must be JSON numbers: a quoted "101.5" is a malformed reply."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    target: StrictFloat
    stop_loss: StrictFloat
    confidence: StrictFloat
    recommendation: Recommendation
    bias: Bias
    reasoning: StrictStr | None = None
    news_sentiment: StrictFloat | None = None
    horizon_bars: StrictInt | None = None

    @field_validator("recommendation", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("bias", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


@dataclass
class LabelRecord:
    """A labeled (or rejected) point, ready for the store."""

    ts: datetime
    current_price: float
    status: Literal["accepted", "rejected"]
    reject_reason: str | None = None
    target: float | None = None
    stop_loss: float | None = None
    confidence: float | None = None
    recommendation: str | None = None
    bias: str | None = None
    news_sentiment: float | None = None
    horizon_bars: int | None = None
    reasoning: str | None = None
    raw_reply: str | None = None
    context: dict[str, Any] | None = None
    llm_call_id: int | None = None
    knowledge_cutoff: date | None = None  # the LLM's training-data cutoff (None: offline labeler)
    pre_cutoff: bool | None = None  # the point lies before that cutoff
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>\{.*\})\s*```\s*$", re.DOTALL | re.IGNORECASE)


def parse_object(text: str) -> dict[str, Any]:
    """The reply must be one JSON object; a single ```json fence around it is tolerated."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty reply")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body")
    try:
        value = json.loads(body, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"not a JSON object ({str(exc)[:80]})") from None
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object but a JSON {type(value).__name__}")
    return value


def check_label(reply: LabelReply, current_price: float) -> str | None:
    """The contract's consistency rules; returns the reason for rejection, or None."""
    for name in ("target", "stop_loss", "confidence", "news_sentiment"):
        value = getattr(reply, name)
        if value is not None and not math.isfinite(value):
            return f"{name} is not a finite number"
    if not 0.0 <= reply.confidence <= 1.0:
        return f"confidence {reply.confidence} is outside 0..1"
    if reply.news_sentiment is not None and not -1.0 <= reply.news_sentiment <= 1.0:
        return f"news_sentiment {reply.news_sentiment} is outside -1..1"
    if reply.horizon_bars is not None and reply.horizon_bars <= 0:
        return f"horizon_bars {reply.horizon_bars} is not positive"
    for name in ("target", "stop_loss"):
        value = float(getattr(reply, name))
        if value <= 0:
            return f"{name} {value} is not positive"
        if abs(value / current_price - 1.0) > MAX_PRICE_DEVIATION:
            return f"{name} {value} is more than 50% from the current price {current_price}"
    if reply.recommendation == "BUY" and not reply.stop_loss < current_price < reply.target:
        return (
            f"BUY needs stop_loss < current_price < target, got stop_loss {reply.stop_loss}, "
            f"current_price {current_price}, target {reply.target}"
        )
    if reply.recommendation == "SELL" and not reply.target < current_price < reply.stop_loss:
        return (
            f"SELL needs target < current_price < stop_loss, got target {reply.target}, "
            f"current_price {current_price}, stop_loss {reply.stop_loss}"
        )
    return None


def validate_reply(
    text: str,
    *,
    ts: datetime,
    current_price: float,
    context: dict[str, Any] | None = None,
    llm_call_id: int | None = None,
) -> LabelRecord:
    """Parse and check one reply; a rejection keeps its reason and the raw reply."""
    base = LabelRecord(
        ts=ts,
        current_price=current_price,
        status="rejected",
        raw_reply=text,
        context=context,
        llm_call_id=llm_call_id,
    )
    try:
        reply = LabelReply.model_validate(parse_object(text))
    except ValueError as exc:  # ValidationError is a ValueError
        base.reject_reason = _describe(exc)
        return base
    reason = check_label(reply, current_price)
    if reason:
        base.reject_reason = reason
        return base
    base.status = "accepted"
    base.target = float(reply.target)
    base.stop_loss = float(reply.stop_loss)
    base.confidence = float(reply.confidence)
    base.recommendation = reply.recommendation
    base.bias = reply.bias
    base.reasoning = reply.reasoning
    base.news_sentiment = None if reply.news_sentiment is None else float(reply.news_sentiment)
    base.horizon_bars = reply.horizon_bars
    return base


def record_from_reply(
    ts: datetime, current_price: float, reply: LabelReply, context: dict[str, Any] | None
) -> LabelRecord:
    """An offline labeler's label, held to the same rules as an LLM reply, with its reply JSON."""
    reason = check_label(reply, current_price)
    record = LabelRecord(
        ts=ts,
        current_price=current_price,
        status="rejected" if reason else "accepted",
        reject_reason=reason,
        target=float(reply.target),
        stop_loss=float(reply.stop_loss),
        confidence=float(reply.confidence),
        recommendation=reply.recommendation,
        bias=reply.bias,
        horizon_bars=reply.horizon_bars,
        reasoning=reply.reasoning,
        context=context,
    )
    record.raw_reply = label_to_reply_json(record)
    return record


def _describe(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:4]:
            loc = ".".join(str(p) for p in err["loc"]) or "reply"
            kind = "missing" if err["type"] == "missing" else err["msg"].lower()
            parts.append(f"{loc}: {kind}")
        return "schema: " + "; ".join(parts)
    return str(exc)


def label_to_reply_json(record: LabelRecord) -> str:
    """Render an offline label in the LLM wire schema (so it can be stored as its raw reply)."""
    payload = {
        "target": record.target,
        "stop_loss": record.stop_loss,
        "confidence": record.confidence,
        "recommendation": record.recommendation,
        "bias": record.bias,
        "reasoning": record.reasoning,
        "news_sentiment": record.news_sentiment,
        "horizon_bars": record.horizon_bars,
    }
    return json.dumps(payload)
