"""Synthetic hourly series with a known answer: one with a planted, modest edge, one with none.

They measure the training path's power (does a real edge reach the live slot?) and its false
positives (does noise ever get there?). `bench/power.py` and the tests share them.

- `planted_edge`: log price = a random-walk trend (per-bar sd `trend_sd`) plus a stationary
  AR(1) deviation (coefficient `phi`, shock sd `deviation_sd`). The deviation reverts, so the
  price over the next bars tends back towards the trend. Over a 12-bar horizon with the default
  numbers an ideal predictor (who knows the deviation) calls the direction about 62 % of the
  time, "sign of SMA20 - close" about 55 %, 12-bar momentum about 45 %, the majority about 50 %.
- `garch_random_walk`: a random walk with GARCH(1,1) Student-t shocks of a similar scale: fat
  tails and volatility clustering, and nothing to predict.

Both are continuous hourly bars (no sessions), deterministic per seed, and never presented as
real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from core.data.frames import OHLCV

START = pd.Timestamp("2022-01-03 00:00", tz="UTC")
START_PRICE = 100.0
WICK_SD = 0.0008  # per-bar extension of high and low beyond the body, as a share of the price


@dataclass(frozen=True)
class PlantedSeries:
    bars: pd.DataFrame
    deviation: np.ndarray  # the AR(1) part of the log price: what an ideal predictor knows


def _stamps(n: int) -> pd.DatetimeIndex:
    return pd.date_range(START, periods=n, freq="1h", name="ts")


def _bars(rng: np.random.Generator, log_close: np.ndarray) -> pd.DataFrame:
    """OHLCV around a log-close path: each bar opens at the previous close, wicks beyond the body."""
    close = np.exp(log_close)
    open_ = np.r_[START_PRICE, close[:-1]]
    wicks = np.abs(rng.normal(0.0, WICK_SD, size=(len(close), 2)))
    high = np.maximum(open_, close) * (1.0 + wicks[:, 0])
    low = np.minimum(open_, close) * (1.0 - wicks[:, 1])
    moves = np.abs(np.diff(np.r_[np.log(START_PRICE), log_close]))
    volume = np.round(
        1_000.0 * (1.0 + moves / max(float(moves.mean()), 1e-12)) * rng.lognormal(0, 0.3, len(close))
    )
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=_stamps(len(close))
    )
    return frame[OHLCV].round({"open": 5, "high": 5, "low": 5, "close": 5}).astype("float64")


def planted_edge(
    seed: int,
    n: int = 20_000,
    *,
    trend_sd: float = 0.0012,
    phi: float = 0.95,
    deviation_sd: float = 0.002,
) -> PlantedSeries:
    """`n` hourly bars whose log price is a random-walk trend plus a mean-reverting AR(1) deviation."""
    rng = np.random.default_rng([seed, 1])
    trend = np.cumsum(rng.normal(0.0, trend_sd, n))
    shocks = rng.normal(0.0, deviation_sd, n)
    shocks[0] = rng.normal(0.0, deviation_sd / np.sqrt(1.0 - phi**2))  # start in the stationary law
    deviation = lfilter([1.0], [1.0, -phi], shocks)  # d[t] = phi * d[t-1] + e[t]
    log_close = np.log(START_PRICE) + trend + deviation
    return PlantedSeries(_bars(rng, log_close), deviation)


def garch_random_walk(
    seed: int,
    n: int = 20_000,
    *,
    bar_sd: float = 0.0023,
    alpha: float = 0.06,
    beta: float = 0.92,
    dof: float = 5.0,
) -> pd.DataFrame:
    """`n` hourly bars of a driftless random walk with GARCH(1,1) Student-t shocks (unit variance)."""
    rng = np.random.default_rng([seed, 2])
    z = rng.standard_t(dof, n) / np.sqrt(dof / (dof - 2.0))
    omega = bar_sd**2 * (1.0 - alpha - beta)
    returns = np.empty(n)
    sigma2, prev = bar_sd**2, 0.0
    # Sequential on purpose: each variance depends on the previous shock (20,000 steps, milliseconds).
    for i in range(n):
        sigma2 = omega + alpha * prev * prev + beta * sigma2
        prev = np.sqrt(sigma2) * z[i]
        returns[i] = prev
    return _bars(rng, np.log(START_PRICE) + np.cumsum(returns))


def write_csv(bars: pd.DataFrame, path: str) -> None:
    """A generic export (`Date,Open,High,Low,Close,Volume`) that the CSV import reads."""
    out = bars.rename(columns=str.title)
    out.index = out.index.strftime("%Y-%m-%d %H:%M:%S")
    out.index.name = "Date"
    out.to_csv(path)
