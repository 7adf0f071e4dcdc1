"""The embedded provider: the bundled real GOOG daily history and synthetic intraday series."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from core.data import synthetic
from core.data.csv_stream import read_ohlcv_csv
from core.data.frames import resample_ohlcv
from core.data.providers.base import FetchedBars, FetchRequest, Headline
from core.errors import BadInput
from core.settings import Settings

# Real data shipped in data/: symbol -> (file, native timeframe). Coarser timeframes resample it.
BUNDLED = {"GOOG": ("GOOG_1d.csv", "1d")}
BUNDLED_RESAMPLE = {"1wk": "W-MON", "1mo": "MS"}


@functools.lru_cache(maxsize=8)
def _read_bundled(path: Path) -> pd.DataFrame:
    return read_ohlcv_csv(path)


class OfflineProvider:
    # The same facts as its line in the registry, which lists them without importing this module
    # (a plug-in never imports the registry that names it).
    name = "offline"
    live = False
    sources = frozenset({"offline", "synthetic"})

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def symbols(self) -> dict[str, list[str]]:
        known = {sym: [tf, *BUNDLED_RESAMPLE] for sym, (_f, tf) in BUNDLED.items()}
        known.update({sym: list(synthetic.TIMEFRAMES) for sym in synthetic.SPECS})
        return known

    def fetch(self, request: FetchRequest) -> FetchedBars:
        symbol, tf = request.symbol, request.timeframe.code
        known = self.symbols()
        if symbol not in known:
            raise BadInput(
                f"unknown symbol {symbol!r} for the offline provider; it knows {', '.join(sorted(known))}. "
                "Import your own bars with `python -m core data import`, or set MARKET_DATA_PROVIDER=yfinance"
            )
        if tf not in known[symbol]:
            raise BadInput(f"the offline provider has {symbol} only on {', '.join(known[symbol])}, not {tf}")
        if symbol in BUNDLED:
            bars = self._bundled(symbol, tf)
            bars = bars[bars.index <= pd.Timestamp(request.end)]
            if request.start is not None:
                bars = bars[bars.index >= pd.Timestamp(request.start)]
            return FetchedBars(bars, source="offline")
        bars = synthetic.generate(symbol, tf, request.start, request.end)
        return FetchedBars(bars, source="synthetic", is_synthetic=True)

    def _bundled(self, symbol: str, tf: str) -> pd.DataFrame:
        file, native = BUNDLED[symbol]
        path = self.data_dir / file
        if not path.is_file():
            raise BadInput(f"bundled data file {path} is missing; restore it from the repository")
        bars = _read_bundled(path)
        return bars if tf == native else resample_ohlcv(bars, BUNDLED_RESAMPLE[tf])

    def news(self, symbol: str, limit: int = 10) -> list[Headline]:
        return []


def build(settings: Settings) -> OfflineProvider:
    """The registry's factory."""
    return OfflineProvider(settings.bundled_data_dir)
