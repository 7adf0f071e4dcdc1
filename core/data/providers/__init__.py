"""Market data providers: where bars come from before they reach the store.

The registry (`core.data.providers.registry`) is the one list of providers; a provider's own
module loads only when it is built, so importing this package stays light.
"""

from __future__ import annotations

from core.data.providers.base import FetchedBars, FetchRequest, MarketDataProvider
from core.data.providers.registry import (
    PROVIDERS,
    ProviderInfo,
    fetch_provider_names,
    info_for_source,
    make_provider,
    provider_info,
)

__all__ = [
    "PROVIDERS",
    "FetchRequest",
    "FetchedBars",
    "MarketDataProvider",
    "ProviderInfo",
    "fetch_provider_names",
    "info_for_source",
    "make_provider",
    "provider_info",
]
