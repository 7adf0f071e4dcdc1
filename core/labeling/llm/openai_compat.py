"""The OpenAI-compatible chat-completions wire format (OpenAI, vLLM, Ollama, …)."""

from __future__ import annotations

from typing import Any

from core.labeling.llm.base import MalformedEnvelope, Message, Usage, usage_from


class OpenAIWire:
    provider = "openai"

    def __init__(self, base_url: str, api_key: str | None) -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self._api_key = api_key

    def __repr__(self) -> str:  # never the key
        return f"OpenAIWire(url={self.url!r})"

    def headers(self) -> dict[str, str]:
        # Local servers (vLLM, Ollama) take no key; sending an empty Bearer would be refused by some.
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def body(self, messages: list[Message], *, model: str, temperature: float) -> dict[str, Any]:
        return {
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": temperature,
            "response_format": {"type": "json_object"},
        }

    def parse(self, payload: Any) -> tuple[str, Usage | None]:
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise MalformedEnvelope("OpenAI-compatible reply has no `choices[0].message.content`") from None
        if not isinstance(content, str):
            raise MalformedEnvelope("`choices[0].message.content` is not text")
        usage = usage_from(payload.get("usage"), ("prompt_tokens",), ("completion_tokens",))
        return content, usage
