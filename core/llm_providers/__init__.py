"""The LLM providers (`LLM_PROVIDERS`): every provider name list (settings, CLI, pages) reads it.

Adding a provider: write its module here (its wire format, a `PluginSettings` model of the
settings it reads under their flat names, and a `PROVIDER`), add one `LLM_PROVIDERS.add` line
below, and its test against tests/fakes/llm_server.py. `Settings` builds and validates each
provider's settings, the secret list reads their secret fields, the Training page and
`--llm-provider` list the names. This package is imported by `core.settings`, so it stays light
and never imports it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import BadInput
from core.llm_providers.spec import NEUTRAL_KNOBS, Provider
from core.plugins import Entry, Registry

if TYPE_CHECKING:
    from core.llm_providers.wire import WireFormat
    from core.settings import Settings

# An entry's `help` says how to switch the provider on (the "not configured" message lists them).
LLM_PROVIDERS: Registry[Entry, Provider] = Registry("LLM provider")
LLM_PROVIDERS.add(
    Entry(
        "freddy",
        "core.llm_providers.freddy:PROVIDER",
        "Freddy",
        "set FREDDY_ENABLED=true with FREDDY_API_KEY, FREDDY_ORGANIZATION_ID and FREDDY_ASSISTANT_ID",
    )
)
LLM_PROVIDERS.add(
    Entry(
        "openai",
        "core.llm_providers.openai_compat:PROVIDER",
        "OpenAI-compatible",
        "LLM_PROVIDER=openai with OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)",
    )
)

__all__ = [
    "LLM_PROVIDERS",
    "NEUTRAL_KNOBS",
    "Provider",
    "ProviderChoice",
    "make_wire",
    "not_configured",
    "provider_choice",
]


def not_configured() -> str:
    """Why the LLM analyst cannot label, and how each registered provider is switched on."""
    hints = ", or ".join(entry.help for entry in LLM_PROVIDERS.entries())
    return f"the LLM analyst is not configured: {hints}; or label offline with --labeler rules"


@dataclass(frozen=True)
class ProviderChoice:
    """What a page offers for a run's LLM: the configured providers, their titles, the default."""

    names: list[str]
    titles: dict[str, str]
    default: str | None  # LLM_PROVIDER when configured, else the first configured one

    @property
    def default_index(self) -> int:
        return self.names.index(self.default) if self.default in self.names else 0


def make_wire(settings: Settings) -> WireFormat:
    """The chosen provider's wire format (the only place that reads the API keys)."""
    if not settings.llm_configured:
        raise BadInput(not_configured())
    return LLM_PROVIDERS.load(settings.llm_provider).make_wire(settings.llm_settings())


def provider_choice(settings: Settings) -> ProviderChoice:
    """The providers a run may pick (only configured ones), for the Training page's selector."""
    names = list(settings.configured_llm_providers)
    default = settings.llm_provider if settings.llm_provider in names else (names[0] if names else None)
    titles = LLM_PROVIDERS.titles()
    return ProviderChoice(names, {n: titles[n] for n in names}, default)
