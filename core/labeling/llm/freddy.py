"""Freddy's wire format (CONTRACTS §2): `POST /v1/model/response` with an `X-API-Key` header."""

from __future__ import annotations

from typing import Any

from core.labeling.llm.base import MalformedEnvelope, Message, Usage, usage_from

# Freddy's documented reply carries no token counts; should it add them, any of these spellings is used.
_IN_KEYS = ("inputTokens", "input_tokens", "promptTokens", "prompt_tokens")
_OUT_KEYS = ("outputTokens", "output_tokens", "completionTokens", "completion_tokens")


class FreddyWire:
    provider = "freddy"

    def __init__(self, base_url: str, api_key: str, organization_id: str, assistant_id: str) -> None:
        self.url = f"{base_url.rstrip('/')}/v1/model/response"
        self._api_key = api_key
        self._organization_id = organization_id
        self._assistant_id = assistant_id

    def __repr__(self) -> str:  # never the key
        return f"FreddyWire(url={self.url!r})"

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self._api_key, "Accept": "application/json"}

    def body(self, messages: list[Message], *, model: str, temperature: float) -> dict[str, Any]:
        return {
            "model": model,
            "inputs": [{"role": m["role"], "texts": [{"text": m["content"]}]} for m in messages],
            "organizationId": self._organization_id,
            "assistantId": self._assistant_id,
            "temperature": temperature,
            "responseFormat": {"type": "json_object"},
        }

    def parse(self, payload: Any) -> tuple[str, Usage | None]:
        """Concatenate `output[].content[].text` in order (one assistant message in practice)."""
        output = payload.get("output") if isinstance(payload, dict) else None
        if not isinstance(output, list):
            raise MalformedEnvelope("Freddy reply has no `output` list")
        texts = [
            part["text"]
            for item in output
            if isinstance(item, dict) and isinstance(item.get("content"), list)
            for part in item["content"]
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        if not texts:
            raise MalformedEnvelope("Freddy reply has no `output[].content[].text`")
        return "".join(texts), usage_from(payload.get("usage"), _IN_KEYS, _OUT_KEYS)
