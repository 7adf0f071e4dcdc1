"""What an LLM provider registers: its name, the settings it reads, and how to build its wire format.

`core.settings` imports the registry to validate `LLM_PROVIDER`, so a provider module must stay
light (no httpx, no database) and must not import `core.settings`: each one declares the settings
fields it reads as a `Protocol`, which `Settings` satisfies, and receives the settings object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.llm_providers.wire import WireFormat

# The provider-neutral knobs (LLM_TIMEOUT, LLM_TEMPERATURE, LLM_CACHE_TTL) a provider may also
# read under an older name of its own, e.g. Freddy's FREDDY_TIMEOUT.
NEUTRAL_KNOBS = ("timeout", "temperature", "cache_ttl")


@dataclass(frozen=True)
class Provider:
    name: str  # the LLM_PROVIDER value and the --llm-provider choice
    title: str  # as shown on a page
    model_setting: str  # the settings field naming this provider's model (FREDDY_MODEL)
    setup_hint: str  # how to switch it on, for the "not configured" message
    # Each callable takes the settings object (`core.settings.Settings`).
    is_configured: Callable[[Any], bool]
    problem: Callable[[Any], str | None]  # a configuration error to refuse at startup, or None
    make_wire: Callable[[Any], WireFormat]
    secret_settings: tuple[str, ...] = ()  # fields holding secrets, redacted everywhere
    # Older provider-specific names for the neutral knobs: {"timeout": "freddy_timeout"}.
    own_settings: Mapping[str, str] = field(default_factory=dict)
    # Whether its wire sends a JSON schema as `response_format` (structured outputs).
    structured_outputs: bool = False
    # Whether it offers the OpenAI Batch API (files + /batches at the batch discount).
    batch_api: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.own_settings) - set(NEUTRAL_KNOBS)
        if unknown:
            raise ValueError(f"provider {self.name}: unknown neutral settings {sorted(unknown)}")
