"""What an LLM provider's module exports as `PROVIDER`: its settings model and how to build its wire.

`core.settings` loads every registered provider to validate `LLM_PROVIDER` and the provider's
own settings at startup, so a provider module must stay light (no httpx, no database) and must not
import `core.settings`: it declares what it reads as a `PluginSettings` model (with a `model`
field naming the model it asks), and its callables receive that model, built by `Settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.llm_providers.wire import WireFormat
from core.plugin_settings import PluginSettings

# The provider-neutral knobs (LLM_TIMEOUT, LLM_TEMPERATURE, LLM_CACHE_TTL) a provider may also
# read under an older name of its own, e.g. Freddy's FREDDY_TIMEOUT.
NEUTRAL_KNOBS = ("timeout", "temperature", "cache_ttl")


@dataclass(frozen=True)
class Provider:
    settings: type[PluginSettings]  # its own settings (FREDDY_*), with at least `model: str`
    # Each callable takes an instance of `settings`.
    is_configured: Callable[[Any], bool]
    problem: Callable[[Any], str | None]  # a configuration error to refuse at startup, or None
    make_wire: Callable[[Any], WireFormat]
    # Neutral knobs its settings also declare under the same field name (FREDDY_TIMEOUT).
    own_knobs: tuple[str, ...] = ()
    # Whether its wire sends a JSON schema as `response_format` (structured outputs).
    structured_outputs: bool = False
    # Whether it offers the OpenAI Batch API (files + /batches at the batch discount).
    batch_api: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.own_knobs) - set(NEUTRAL_KNOBS)
        if unknown:
            raise ValueError(f"provider {self.settings.__name__}: unknown neutral settings {sorted(unknown)}")
        fields = set(self.settings.model_fields)
        if "model" not in fields or not set(self.own_knobs) <= fields:
            raise ValueError(f"{self.settings.__name__} must declare `model` and {list(self.own_knobs)}")
