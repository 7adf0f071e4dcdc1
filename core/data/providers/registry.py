"""The one list of market-data providers (`MARKET_PROVIDERS`): every name list (CLI, badges) reads it.

Adding a provider is writing its module (a class with `fetch`, `symbols`, `news`, a
`build(settings)` factory and, if it has settings of its own, a `PluginSettings` model) and adding
one `MARKET_PROVIDERS.add` line here. The registry names each factory as "module:function" and
loads it only when a provider is built: the CLI lists the names while it builds its parser, and
that must not pay for pandas or httpx, which a provider module imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import BadInput
from core.plugins import Entry, Registry

if TYPE_CHECKING:
    from core.data.providers.base import MarketDataProvider
    from core.settings import Settings


@dataclass(frozen=True)
class ProviderInfo(Entry):
    """A producer of stored series: `name` is what MARKET_DATA_PROVIDER, --provider and
    bar_series.provider say; `target` is its `build(settings)` factory, empty for a producer that
    cannot be asked again (an imported file)."""

    live: bool = False  # reaches a real, current market feed
    sources: frozenset[str] = frozenset()  # the `source` values its bars are stored under

    @property
    def refreshable(self) -> bool:
        """False for series that are used as stored (a CSV import has no one to ask again)."""
        return bool(self.target)


CSV = "csv"

MARKET_PROVIDERS: Registry[ProviderInfo, Callable[[Settings], MarketDataProvider]] = Registry(
    "market data provider"
)
MARKET_PROVIDERS.add(
    ProviderInfo(
        "offline",
        "core.data.providers.offline:build",
        "Offline demo",
        "the bundled series and synthetic ones, no network",
        sources=frozenset({"offline", "synthetic"}),
    )
)
MARKET_PROVIDERS.add(
    ProviderInfo(
        "yfinance",
        "core.data.providers.yahoo:build",
        "Yahoo Finance",
        "Yahoo's public chart and news feeds",
        live=True,
        sources=frozenset({"yfinance", "yahoo"}),
    )
)

# Every producer a stored series may name: the registered providers and imported files.
PROVIDERS: dict[str, ProviderInfo] = {
    **{info.name: info for info in MARKET_PROVIDERS.entries()},
    CSV: ProviderInfo(
        CSV, "", "Imported CSV", "an uploaded or imported OHLCV file", sources=frozenset({CSV})
    ),
}


def fetch_provider_names() -> tuple[str, ...]:
    """The providers a fetch can ask (MARKET_DATA_PROVIDER and --provider choices)."""
    return MARKET_PROVIDERS.names()


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
    return MARKET_PROVIDERS.load(info.name)(settings)
