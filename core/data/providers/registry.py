"""The one list of market-data providers: every name list (settings, CLI, badges) reads it.

Adding a provider is writing its module (a class with `fetch`, `symbols`, `news` and a
`build(settings)` factory) and adding one `ProviderInfo` here. The table names each factory as
"module:function" and loads it only when a provider is built: the CLI lists the names while it
builds its parser, and that must not pay for pandas or yfinance, which a provider module imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import BadInput

if TYPE_CHECKING:
    from core.data.providers.base import MarketDataProvider
    from core.settings import Settings


@dataclass(frozen=True)
class ProviderInfo:
    name: str  # MARKET_DATA_PROVIDER, --provider and bar_series.provider all use this
    title: str  # how a badge or a message names it
    live: bool  # reaches a real, current market feed
    sources: frozenset[str]  # the `source` values its bars are stored under
    factory: str | None  # "module:function" building it from Settings; None: cannot be refreshed

    @property
    def refreshable(self) -> bool:
        """False for series that are used as stored (a CSV import has no one to ask again)."""
        return self.factory is not None


CSV = "csv"

PROVIDERS: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        ProviderInfo(
            "offline",
            "Offline demo",
            live=False,
            sources=frozenset({"offline", "synthetic"}),
            factory="core.data.providers.offline:build",
        ),
        ProviderInfo(
            "yfinance",
            "Yahoo Finance",
            live=True,
            sources=frozenset({"yfinance", "yahoo"}),
            factory="core.data.providers.yahoo:build",
        ),
        ProviderInfo(CSV, "Imported CSV", live=False, sources=frozenset({CSV}), factory=None),
    )
}


def fetch_provider_names() -> tuple[str, ...]:
    """The providers a fetch can ask (MARKET_DATA_PROVIDER and --provider choices)."""
    return tuple(name for name, info in PROVIDERS.items() if info.refreshable)


def provider_info(name: str) -> ProviderInfo:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise BadInput(
            f"unknown market data provider {name!r}; use one of {', '.join(fetch_provider_names())}"
        ) from None


def info_for_source(source: str | None) -> ProviderInfo | None:
    """The provider whose bars carry `source` (series stored before providers were recorded)."""
    for info in PROVIDERS.values():
        if source in info.sources:
            return info
    return None


def check_fetch_provider(name: str) -> ProviderInfo:
    """`name` as a provider a fetch may ask; `BadInput` naming the choices otherwise."""
    info = provider_info(name)
    if not info.refreshable:
        raise BadInput(
            f"{name!r} is not a provider that can be fetched from (its series are imported files); "
            f"use one of {', '.join(fetch_provider_names())}"
        )
    return info


def make_provider(name: str, settings: Settings) -> MarketDataProvider:
    """Build the named provider from settings (`BadInput` for an unknown or import-only name)."""
    info = check_fetch_provider(name)
    assert info.factory is not None
    module_name, _, attr = info.factory.partition(":")
    build: Callable[[Settings], Any] = getattr(importlib.import_module(module_name), attr)
    return build(settings)
