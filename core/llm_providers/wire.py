"""What every wire format shares: the completion it yields, its failures, usage and redaction.

The two providers (Freddy, OpenAI-compatible) differ only in URL, headers, body and envelope;
everything above them (retries, cache, ledger, validation) sees a `Completion` or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from core import masking
from core.errors import ProviderUnavailable

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English and JSON, used only when a provider is silent


@dataclass(frozen=True)
class Usage:
    tokens_in: int
    tokens_out: int
    estimated: bool  # True when counted as characters / 4 because the provider reported nothing

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.tokens_in + other.tokens_in,
            self.tokens_out + other.tokens_out,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class Completion:
    """One successful reply: the model's text and what it cost in tokens and time.

    `usage` also covers earlier attempts of the same request whose replies arrived only in part
    (a deadline mid-body): the provider sent them, so it bills them.
    """

    text: str
    usage: Usage
    attempts: int
    latency_ms: float
    http_status: int
    reply_bytes: int = 0  # reply body bytes read over every attempt


class LLMCallFailed(ProviderUnavailable):
    """A request that could not produce a reply after its retries (or one not worth retrying).

    `usage` is what the provider may bill for it anyway (reply bodies, or parts of them, that it
    sent), estimated from the bytes received; None when no reply body arrived at all.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        http_status: int | None,
        latency_ms: float,
        usage: Usage | None = None,
        reply_bytes: int = 0,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.http_status = http_status
        self.latency_ms = latency_ms
        self.usage = usage
        self.reply_bytes = reply_bytes


class ReplyTooLarge(LLMCallFailed):
    """A reply body longer than LLM_MAX_REPLY_BYTES: reading stopped there, nothing was parsed."""

    def __init__(self, message: str, *, excerpt: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.excerpt = excerpt  # the first bytes of the body, decoded, for the stored raw reply


class RetryAbandoned(LLMCallFailed):
    """The run stopped (a refused key, a cancel) before this request's next attempt was sent."""


class MalformedEnvelope(ValueError):
    """A 200 response whose body is not the provider's documented envelope."""


class WireFormat(Protocol):
    """One provider's HTTP dialect. Implementations hold the key; nothing else reads it."""

    provider: str
    url: str

    def headers(self) -> dict[str, str]: ...

    def body(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float,
        json_schema: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The request body; `json_schema` (name, strict, schema) asks for schema-constrained replies
        where the wire supports it, else plain JSON mode."""
        ...

    def parse(self, payload: Any) -> tuple[str, Usage | None]:
        """The reply text and the provider's token counts (None when it reports none)."""
        ...


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // CHARS_PER_TOKEN)


def estimate_usage(messages: list[Message], reply: str) -> Usage:
    prompt = sum(len(m["content"]) for m in messages)
    return Usage(max(1, prompt // CHARS_PER_TOKEN), estimate_tokens(reply), estimated=True)


def usage_from(raw: Any, in_keys: tuple[str, ...], out_keys: tuple[str, ...]) -> Usage | None:
    """Token counts from a `usage` object under any of the given key spellings, else None."""
    if not isinstance(raw, dict):
        return None

    def first(keys: tuple[str, ...]) -> int | None:
        for key in keys:
            value = raw.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return None

    tokens_in, tokens_out = first(in_keys), first(out_keys)
    if tokens_in is None or tokens_out is None:
        return None
    return Usage(tokens_in, tokens_out, estimated=False)


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """Mask every configured secret in a message before it can reach a log, the DB or an exception."""
    return masking.mask_with(text, secrets)
