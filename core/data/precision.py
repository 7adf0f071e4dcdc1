"""A market's price precision, read from its own bars: EURUSD quotes 5 decimals, USDJPY 3, GOOG 2.

Stored prices carry binary noise (`1.6387800000000001`, or Yahoo's float32 `2799.719970703125`),
so a value "has" d decimals when it lies within 1.5 parts in 10^7 of a d-decimal number. The
series' precision is the fewest decimals that fit 99 % of its prices (a few computed values, such
as adjusted closes, do not widen it), and its tick size the largest step all those prices share
(0.05 on NSE, 0.25 on index futures; otherwise 10^-decimals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd

from core.data.frames import PRICE_COLUMNS

MAX_DECIMALS = 8
_NOISE = 1.5e-7  # relative: above float32 rounding (6e-8), far below any real price step
_SHARE = 0.99
_SCALE = 10**MAX_DECIMALS
_GCD_LIMIT = 1e10  # prices above this would overflow int64 once scaled; their tick is 10^-d
_ROWS_PER_FEED = 25_000  # a long chunk is sampled evenly: the shares need no more


@dataclass(frozen=True)
class Precision:
    decimals: int
    tick_size: float


def _decimals_of(values: np.ndarray) -> np.ndarray:
    """Per value, the fewest decimals (0..8) it has; MAX_DECIMALS + 1 where none fit (noise)."""
    out = np.full(values.shape, MAX_DECIMALS + 1, dtype=np.int8)
    tol = np.abs(values) * _NOISE + 1e-12
    for d in range(MAX_DECIMALS, -1, -1):
        scaled = values * 10.0**d
        fits = np.abs(scaled - np.rint(scaled)) / 10.0**d <= tol
        out[fits] = d
    return out


class PrecisionEstimate:
    """Accumulates over chunks, so a streamed import learns its precision in one pass."""

    def __init__(self) -> None:
        self.counts = np.zeros(MAX_DECIMALS + 2, dtype=np.int64)
        self.gcds = [0] * (MAX_DECIMALS + 1)  # per decimals bucket, in units of 10^-8
        self.samples: list[float] = []  # a few prices, for the fallback on noisy data
        self.gcd_ok = True

    def feed(self, bars: pd.DataFrame) -> None:
        step = max(1, len(bars) // _ROWS_PER_FEED)
        values = bars[PRICE_COLUMNS].to_numpy(dtype="float64")[::step].ravel()
        values = values[np.isfinite(values) & (values > 0)]
        if not values.size:
            return
        decimals = _decimals_of(values)
        self.counts += np.bincount(decimals, minlength=MAX_DECIMALS + 2)
        if len(self.samples) < 1000:
            self.samples.extend(values[:: max(1, values.size // 200)][:200].tolist())
        if values.max() >= _GCD_LIMIT:
            self.gcd_ok = False
            return
        for d in np.unique(decimals[decimals <= MAX_DECIMALS]):
            units = np.rint(values[decimals == d] * 10.0**d).astype(np.int64) * 10 ** (MAX_DECIMALS - int(d))
            self.gcds[int(d)] = math.gcd(self.gcds[int(d)], int(np.gcd.reduce(units)))

    def result(self) -> Precision | None:
        total = int(self.counts.sum())
        if total == 0:
            return None
        decimals = int(np.searchsorted(np.cumsum(self.counts), _SHARE * total))
        if decimals > MAX_DECIMALS:  # mostly noise: show about six significant digits
            median = float(np.median(self.samples)) if self.samples else 1.0
            decimals = min(MAX_DECIMALS, max(2, 5 - math.floor(math.log10(median))))
            return Precision(decimals, 10.0**-decimals)
        step = 10.0**-decimals
        if self.gcd_ok:
            units = reduce(math.gcd, self.gcds[: decimals + 1], 0)
            if units and units / _SCALE >= step:
                step = units / _SCALE
        return Precision(decimals, round(step, MAX_DECIMALS))


def precision_of(bars: pd.DataFrame) -> Precision | None:
    estimate = PrecisionEstimate()
    estimate.feed(bars)
    return estimate.result()


def merge(stored: Precision | None, new: Precision | None) -> Precision | None:
    """New bars joining a series: the finer of the two precisions wins."""
    if stored is None or new is None:
        return new or stored
    if new.decimals != stored.decimals:
        return new if new.decimals > stored.decimals else stored
    return Precision(stored.decimals, min(stored.tick_size, new.tick_size))
