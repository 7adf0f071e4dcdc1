"""The OpenAI-compatible chat-completions format (OpenAI, vLLM, Ollama, …): `POST …/chat/completions`."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from core.llm_providers.spec import Provider
from core.llm_providers.wire import MalformedEnvelope, Message, Usage, usage_from
from core.plugin_settings import PluginSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAISettings(PluginSettings):
    """OPENAI_* (CONTRACTS §2): any OpenAI-compatible server (OpenAI, vLLM, Ollama)."""

    model_config = SettingsConfigDict(env_prefix="OPENAI_")

    api_key: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    model: str = "gpt-4o"


class OpenAIWire:
    provider = "openai"

    def __init__(self, base_url: str, api_key: str | None) -> None:
        self.base_url = base_url.rstrip("/")  # the Batch API's files and batches live beside it
        self.url = f"{self.base_url}/chat/completions"
        self._api_key = api_key

    def __repr__(self) -> str:  # never the key
        return f"OpenAIWire(url={self.url!r})"

    def headers(self) -> dict[str, str]:
        # Local servers (vLLM, Ollama) take no key; sending an empty Bearer would be refused by some.
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def body(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float,
        json_schema: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        # Structured outputs: the server decodes only replies that fit the schema (strict), so an
        # invalid reply becomes rare and measured instead of a retry cost.
        response_format = (
            {"type": "json_schema", "json_schema": json_schema} if json_schema else {"type": "json_object"}
        )
        return {
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": temperature,
            "response_format": response_format,
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


def _key(s: OpenAISettings) -> str | None:
    return s.api_key.get_secret_value() if s.api_key else None


def _configured(s: OpenAISettings) -> bool:
    # Local OpenAI-compatible servers (vLLM, Ollama) need no key, only a non-default URL.
    return bool(_key(s)) or s.base_url.rstrip("/") != DEFAULT_BASE_URL


def _problem(s: OpenAISettings) -> str | None:
    if not s.base_url.startswith(("http://", "https://")):
        return "OPENAI_BASE_URL must start with http:// or https://"
    return None


PROVIDER = Provider(
    settings=OpenAISettings,
    is_configured=_configured,
    problem=_problem,
    make_wire=lambda s: OpenAIWire(s.base_url, _key(s)),
    structured_outputs=True,
    batch_api=True,
)
