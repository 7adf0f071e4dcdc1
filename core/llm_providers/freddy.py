"""Freddy (CONTRACTS §2): `POST {FREDDY_BASE_URL}/v1/model/response` with an `X-API-Key` header."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from core.llm_providers.spec import Provider
from core.llm_providers.wire import MalformedEnvelope, Message, Usage, usage_from
from core.plugin_settings import SECRET, PluginSettings

# Freddy's documented reply carries no token counts; should it add them, any of these spellings is used.
_IN_KEYS = ("inputTokens", "input_tokens", "promptTokens", "prompt_tokens")
_OUT_KEYS = ("outputTokens", "output_tokens", "completionTokens", "completion_tokens")


class FreddySettings(PluginSettings):
    """FREDDY_* (CONTRACTS §2). TIMEOUT, TEMPERATURE and CACHE_TTL are the original system's names for
    the provider-neutral LLM_* knobs, which win when both are set (`core.settings.Settings.llm_options`)."""

    model_config = SettingsConfigDict(env_prefix="FREDDY_")

    enabled: bool = False
    api_key: SecretStr | None = None
    organization_id: str | None = Field(None, json_schema_extra=SECRET)
    assistant_id: str | None = None
    model: str = "gpt-4o"
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    timeout: float = Field(30.0, gt=0)
    cache_ttl: int = Field(300, ge=0)
    base_url: str = "https://freddy-api.aitronos.com"


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

    def body(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float,
        json_schema: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        # Freddy documents JSON mode only; the schema stays in the system message.
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


def _key(s: FreddySettings) -> str:
    return s.api_key.get_secret_value() if s.api_key else ""


def _problem(s: FreddySettings) -> str | None:
    if not s.enabled:
        return None
    missing = [
        name
        for name, value in (
            ("FREDDY_API_KEY", _key(s)),
            ("FREDDY_ORGANIZATION_ID", s.organization_id),
            ("FREDDY_ASSISTANT_ID", s.assistant_id),
        )
        if not value
    ]
    if missing:
        return "FREDDY_ENABLED=true needs " + ", ".join(missing) + "; set them or FREDDY_ENABLED=false"
    return None


def _wire(s: FreddySettings) -> FreddyWire:
    return FreddyWire(s.base_url, _key(s), s.organization_id or "", s.assistant_id or "")


PROVIDER = Provider(
    settings=FreddySettings,
    is_configured=lambda s: bool(s.enabled),
    problem=_problem,
    make_wire=_wire,
    # The original system's names keep working for Freddy; LLM_TIMEOUT etc. win when both are set.
    own_knobs=("timeout", "temperature", "cache_ttl"),
)
