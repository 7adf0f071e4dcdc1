"""What a broker charges: commission and slippage per side, in basis points, by asset class.

Both are charged on every fill, entry and exit alike: slippage moves the fill price against the
trade (a buy fills higher, a sell lower) and commission is a fee on the notional of each side.
The defaults (`TRADING_COSTS_BPS`, per side) are deliberately ordinary retail figures:

- equity 2 bp commission + 2 bp slippage (a discount broker's fee and a liquid stock's half-spread);
- fx 0.5 bp + 1 bp (an ECN commission and about half a pip on a major pair);
- crypto 10 bp + 5 bp (a large exchange's taker fee and its typical half-spread).

A symbol's class comes from `ASSET_CLASSES` when named there, else from its spelling: `EURUSD=X`
or a six-letter pair of currency codes is fx, `BTC-USD`-style tickers of known coins are crypto,
everything else is equity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.settings import Settings

DEFAULT_COSTS_BPS: dict[str, tuple[float, float]] = {
    "equity": (2.0, 2.0),
    "fx": (0.5, 1.0),
    "crypto": (10.0, 5.0),
}


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CURRENCIES = _codes(
    "USD EUR GBP JPY CHF AUD NZD CAD SEK NOK DKK SGD HKD CNH CNY INR MXN ZAR TRY PLN CZK HUF"
)
_COINS = _codes("BTC ETH SOL XRP ADA DOGE LTC BNB DOT AVAX LINK MATIC TRX BCH XLM USDT USDC")
_QUOTES = frozenset({"USD", "USDT", "USDC", "EUR", "BTC", "ETH", "GBP", "JPY"})


def asset_class(symbol: str, overrides: dict[str, str] | None = None) -> str:
    """The asset class of a ticker (see the module docstring for the rules)."""
    name = symbol.strip().upper()
    if overrides and name in overrides:
        return overrides[name]
    if name.endswith("=X"):
        return "fx"
    plain = name.replace("/", "")
    if len(plain) == 6 and plain[:3] in _CURRENCIES and plain[3:] in _CURRENCIES:
        return "fx"
    base, _, quote = name.partition("-")
    if quote in _QUOTES and base in _COINS:
        return "crypto"
    return "equity"


@dataclass(frozen=True)
class TradingCosts:
    """Per-side commission and slippage, as fractions of the price (1 bp = 0.0001)."""

    commission_bps: float = 0.0
    slippage_bps: float = 0.0
    asset_class: str = "equity"

    @property
    def commission(self) -> float:
        return self.commission_bps / 10_000.0

    @property
    def slippage(self) -> float:
        return self.slippage_bps / 10_000.0

    def entry_fill(self, price: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """The price a market entry really gets: above the quote for a buy, below for a short."""
        return np.asarray(price, dtype="float64") * (1.0 + self.slippage * _sign(direction))

    def exit_fill(self, price: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """The price an exit really gets: a long sells below the quote, a short buys back above it."""
        return np.asarray(price, dtype="float64") * (1.0 - self.slippage * _sign(direction))

    def fees(self, entry: np.ndarray, exit_: np.ndarray) -> np.ndarray:
        """Commission of both sides per unit, in price units."""
        return self.commission * (np.abs(np.asarray(entry, dtype="float64")) + np.abs(exit_))

    def net_return(
        self, entry_quote: np.ndarray, exit_quote: np.ndarray, direction: np.ndarray
    ) -> np.ndarray:
        """Return of each trade on its entry fill, after slippage on both fills and both commissions."""
        sign = _sign(direction)
        entry = self.entry_fill(entry_quote, direction)
        exit_ = self.exit_fill(exit_quote, direction)
        return (sign * (exit_ - entry) - self.fees(entry, exit_)) / entry

    def as_json(self) -> dict[str, Any]:
        return {
            "asset_class": self.asset_class,
            "commission_bps": self.commission_bps,
            "slippage_bps": self.slippage_bps,
        }


NO_COSTS = TradingCosts()


def _sign(direction: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(direction) < 0, -1.0, 1.0)


def costs_for(settings: Settings, symbol: str) -> TradingCosts:
    """The costs of trading `symbol`: its class's entry of TRADING_COSTS_BPS, else the default."""
    kind = asset_class(symbol, settings.asset_classes)
    commission, slippage = settings.trading_costs_bps.get(kind, DEFAULT_COSTS_BPS[kind])
    return TradingCosts(float(commission), float(slippage), kind)
