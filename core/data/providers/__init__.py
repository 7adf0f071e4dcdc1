"""Market data providers: where bars come from before they reach the store."""

from __future__ import annotations

from core.data.providers.base import FetchRequest, MarketDataProvider
from core.data.providers.offline import OfflineProvider
from core.data.providers.yahoo import YahooProvider
from core.errors import BadInput
from core.settings import Settings

PROVIDERS = ("offline", "yfinance")


def make_provider(name: str, settings: Settings) -> MarketDataProvider:
    if name == "offline":
        return OfflineProvider(settings.bundled_data_dir)
    if name == "yfinance":
        proxy = settings.yfinance_proxy.get_secret_value() if settings.yfinance_proxy else None
        return YahooProvider(cache_dir=settings.home / "yfinance-cache", proxy=proxy)
    raise BadInput(f"unknown provider {name!r}; use one of {', '.join(PROVIDERS)}")


__all__ = ["PROVIDERS", "FetchRequest", "MarketDataProvider", "make_provider"]
