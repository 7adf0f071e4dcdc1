"""The provider interface. A provider returns validated bars or raises a `CandleLabError`.

This module stays free of pandas at import time so the registry (and the CLI's parser, which
lists provider names) can load it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from core.timeframes import Timeframe

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class FetchRequest:
    symbol: str
    timeframe: Timeframe
    start: datetime | None  # None: everything the provider has up to `end`
    end: datetime


@dataclass(frozen=True)
class FetchedBars:
    bars: pd.DataFrame
    source: str  # how the badge describes the data: "yfinance", "offline", "synthetic"
    is_synthetic: bool = False


@dataclass(frozen=True)
class Headline:
    """A news headline and when it was published (None when the source does not say)."""

    title: str
    published_at: datetime | None = None


class MarketDataProvider(Protocol):
    name: str  # its registry name (core.data.providers.registry)
    live: bool  # True when the provider reaches a real, current market feed
    sources: frozenset[str]  # the `FetchedBars.source` values it produces (a stored series' origin)

    def fetch(self, request: FetchRequest) -> FetchedBars:
        """Bars of `request.symbol` between start and end; `BadInput` for an unknown symbol."""
        ...

    def symbols(self) -> dict[str, list[str]]:
        """Known symbol -> timeframes, where the provider can list them (offline); else {}."""
        ...

    def news(self, symbol: str, limit: int = 10) -> list[Headline]:
        """Recent headlines with their publication times, for the LLM prompt; [] when it has none."""
        ...
