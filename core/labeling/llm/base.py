"""What every wire format shares: the completion it yields, its failures, usage and redaction.

The two providers (Freddy, OpenAI-compatible) differ only in URL, headers, body and envelope;
everything above them (retries, cache, ledger, validation) sees a `Completion` or an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from core.errors import ProviderUnavailable

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English and JSON, used only when a provider is silent


@dataclass(frozen=True)
class Usage:
    tokens_in: int
    tokens_out: int
    estimated: bool  # True when counted as characters / 4 because the provider reported nothing


@dataclass(frozen=True)
class Completion:
    """One successful reply: the model's text and what it cost in tokens and time."""

    text: str
    usage: Usage
    attempts: int
    latency_ms: float
    http_status: int


class LLMCallFailed(ProviderUnavailable):
    """A request that could not produce a reply after its retries (or one not worth retrying)."""

    def __init__(self, message: str, *, attempts: int, http_status: int | None, latency_ms: float) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.http_status = http_status
        self.latency_ms = latency_ms


class MalformedEnvelope(ValueError):
    """A 200 response whose body is not the provider's documented envelope."""


class WireFormat(Protocol):
    """One provider's HTTP dialect. Implementations hold the key; nothing else reads it."""

    provider: str
    url: str

    def headers(self) -> dict[str, str]: ...

    def body(self, messages: list[Message], *, model: str, temperature: float) -> dict[str, Any]: ...

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


def error_message(response: httpx.Response) -> str:
    """The provider's own explanation (`{"error": {"message", "type"}}`), or a short body excerpt."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        err = payload["error"]
        kind = err.get("type")
        msg = str(err.get("message") or "").strip()
        return f"{kind}: {msg}" if kind else msg
    text = response.text.strip().replace("\n", " ")
    return text[:200] or response.reason_phrase


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """Mask every configured secret in a message before it can reach a log, the DB or an exception."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
