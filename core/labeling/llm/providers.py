"""Choosing the wire format from settings (the only place that reads the API keys)."""

from __future__ import annotations

from core.errors import BadInput
from core.labeling.llm.base import WireFormat
from core.labeling.llm.freddy import FreddyWire
from core.labeling.llm.openai_compat import OpenAIWire
from core.settings import Settings

NOT_CONFIGURED = (
    "the LLM analyst is not configured: set FREDDY_ENABLED=true with FREDDY_API_KEY, "
    "FREDDY_ORGANIZATION_ID and FREDDY_ASSISTANT_ID, or LLM_PROVIDER=openai with OPENAI_API_KEY "
    "(or OPENAI_BASE_URL for a local server); or label offline with --labeler rules"
)


def make_wire(settings: Settings) -> WireFormat:
    if not settings.llm_configured:
        raise BadInput(NOT_CONFIGURED)
    if settings.llm_provider == "freddy":
        key = settings.freddy_api_key.get_secret_value() if settings.freddy_api_key else ""
        return FreddyWire(
            settings.freddy_base_url,
            key,
            settings.freddy_organization_id or "",
            settings.freddy_assistant_id or "",
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return OpenAIWire(settings.openai_base_url, key)
