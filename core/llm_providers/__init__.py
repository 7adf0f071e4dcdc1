"""The LLM-provider registry: every provider name list (settings, CLI, pages) reads `PROVIDERS`.

Adding a provider: write its module here (wire format, the settings it reads, a `PROVIDER`),
add it to `_REGISTERED`, and declare its settings fields in `core.settings.Settings`.
This package is imported by `core.settings`, so it stays light and never imports it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import BadInput
from core.llm_providers import freddy, openai_compat
from core.llm_providers.spec import NEUTRAL_KNOBS, Provider
from core.llm_providers.wire import WireFormat

_REGISTERED = (freddy.PROVIDER, openai_compat.PROVIDER)

PROVIDERS: dict[str, Provider] = {p.name: p for p in _REGISTERED}
PROVIDER_NAMES: tuple[str, ...] = tuple(PROVIDERS)

NOT_CONFIGURED = (
    "the LLM analyst is not configured: "
    + ", or ".join(p.setup_hint for p in _REGISTERED)
    + "; or label offline with --labeler rules"
)

__all__ = [
    "NEUTRAL_KNOBS",
    "NOT_CONFIGURED",
    "PROVIDERS",
    "PROVIDER_NAMES",
    "Provider",
    "ProviderChoice",
    "get_provider",
    "provider_choice",
]


@dataclass(frozen=True)
class ProviderChoice:
    """What a page offers for a run's LLM: the configured providers, their titles, the default."""

    names: list[str]
    titles: dict[str, str]
    default: str | None  # LLM_PROVIDER when configured, else the first configured one

    @property
    def default_index(self) -> int:
        return self.names.index(self.default) if self.default in self.names else 0


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise BadInput(f"unknown LLM provider {name!r}; use one of {', '.join(PROVIDER_NAMES)}") from None


def make_wire(settings: Any) -> WireFormat:
    """The chosen provider's wire format (the only place that reads the API keys).

    `settings` is a `core.settings.Settings` (not imported here: settings imports this registry).
    """
    if not settings.llm_configured:
        raise BadInput(NOT_CONFIGURED)
    return get_provider(settings.llm_provider).make_wire(settings)


def provider_choice(settings: Any) -> ProviderChoice:
    """The providers a run may pick (only configured ones), for the Training page's selector."""
    names = list(settings.configured_llm_providers)
    default = settings.llm_provider if settings.llm_provider in names else (names[0] if names else None)
    return ProviderChoice(names, {n: PROVIDERS[n].title for n in names}, default)
