"""Deterministic synthetic intraday series for offline demos. Never presented as real data.

Each symbol has its own seed, so the path is the same on every machine and every run. Bars for
a given session depend only on the seed and the sessions before it, not on when the series is
asked for: a later request extends the path and leaves every earlier bar unchanged, which is what
lets the offline provider stand in for a live feed (new bars "arrive" as the clock moves on).

The returns follow a GARCH(1,1) process with Student-t shocks (volatility clustering and fat
tails), an intraday U-shaped volatility and volume profile, and overnight gaps.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from core.data.frames import OHLCV, empty_frame, resample_ohlcv

EPOCH = date(2025, 1, 6)  # a Monday: the first synthetic session
BAR_MINUTES = 5


@dataclass(frozen=True)
class SyntheticSpec:
    symbol: str
    start_price: float
    annual_vol: float
    drift: float  # annual
    # NSE cash session 09:15-15:30 IST is 03:45-10:00 UTC.
    session_open_utc: time = time(3, 45)
    bars_per_session: int = 75
    mean_volume: float = 250_000.0


SPECS: dict[str, SyntheticSpec] = {
    spec.symbol: spec
    for spec in (
        SyntheticSpec("INFY.NS", 1500.0, 0.26, 0.08, mean_volume=180_000.0),
        SyntheticSpec("TCS.NS", 3500.0, 0.22, 0.06, mean_volume=90_000.0),
        SyntheticSpec("RELIANCE.NS", 2500.0, 0.28, 0.10, mean_volume=320_000.0),
    )
}

TIMEFRAMES = ("5m", "15m", "30m", "1h", "1d")


def _seed(symbol: str) -> int:
    # hashlib, not hash(): Python salts str hashes per process.
    return int.from_bytes(hashlib.sha256(f"candlelab-synthetic:{symbol}".encode()).digest()[:8], "big")


def _sessions(until: date) -> list[date]:
    days = pd.bdate_range(EPOCH, until)
    return [d.date() for d in days]


def _intraday_profile(n: int) -> np.ndarray:
    """U-shape: busier and more volatile at the open and the close, quiet at midday."""
    x = np.linspace(-1.0, 1.0, n)
    profile = 0.6 + 0.9 * x**2
    return profile / np.sqrt(np.mean(profile**2))


@functools.lru_cache(maxsize=16)
def _path(symbol: str, sessions: int) -> pd.DataFrame:
    """5-minute bars for the first `sessions` sessions from EPOCH (cached; the prefix is stable)."""
    spec = SPECS[symbol]
    n_per = spec.bars_per_session
    n = sessions * n_per
    rng = np.random.default_rng(_seed(symbol))
    # Draw in fixed-size blocks per session so session k's draws never depend on the total.
    dof = 5.0
    shocks = np.empty(n)
    gaps = np.empty(sessions)
    vol_noise = np.empty(n)
    wick_noise = np.empty((n, 2))
    for k in range(sessions):
        block = rng.standard_t(dof, size=n_per) / np.sqrt(dof / (dof - 2))
        shocks[k * n_per : (k + 1) * n_per] = block
        gaps[k] = rng.standard_normal()
        vol_noise[k * n_per : (k + 1) * n_per] = rng.lognormal(0.0, 0.35, size=n_per)
        wick_noise[k * n_per : (k + 1) * n_per] = np.abs(rng.standard_normal(size=(n_per, 2)))

    bar_var = spec.annual_vol**2 / (252 * n_per)
    alpha, beta = 0.06, 0.92
    omega = bar_var * (1 - alpha - beta)
    profile = np.tile(_intraday_profile(n_per), sessions)
    returns = np.empty(n)
    sigma2 = bar_var
    prev = 0.0
    # A sequential loop: the GARCH variance depends on the previous shock, so it cannot be
    # vectorised without numerical tricks; 40k steps take a few milliseconds.
    for i in range(n):
        sigma2 = omega + alpha * prev**2 + beta * sigma2
        prev = np.sqrt(sigma2) * shocks[i]
        returns[i] = prev
    drift = spec.drift / (252 * n_per)
    returns = returns * profile + drift
    gap_sigma = np.sqrt(bar_var) * 4.0
    session_start = np.arange(sessions) * n_per
    returns[session_start] += gaps * gap_sigma

    close = spec.start_price * np.exp(np.cumsum(returns))
    open_ = np.empty(n)
    open_[0] = spec.start_price
    open_[1:] = close[:-1]
    open_[session_start[1:]] = close[session_start[1:] - 1] * np.exp(gaps[1:] * gap_sigma)
    body_hi = np.maximum(open_, close)
    body_lo = np.minimum(open_, close)
    wick = np.sqrt(bar_var) * profile * 0.6
    high = body_hi * (1 + wick * wick_noise[:, 0])
    low = body_lo * (1 - wick * wick_noise[:, 1])
    # Volume follows the U-shape and rises with the size of the move; E[1 + 2|z|] is about 2.6.
    activity = (1 + 2 * np.abs(returns) / np.sqrt(bar_var)) / 2.6
    volume = np.round(spec.mean_volume * profile**2 * activity * vol_noise)

    days = _sessions(EPOCH + timedelta(days=sessions * 2 + 10))[:sessions]
    minutes = np.arange(n_per) * BAR_MINUTES
    stamps = [
        datetime.combine(d, spec.session_open_utc, UTC) + timedelta(minutes=int(m))
        for d in days
        for m in minutes
    ]
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=pd.DatetimeIndex(stamps, name="ts"),
    )
    return frame.round({"open": 2, "high": 2, "low": 2, "close": 2}).astype("float64")


def _fix_rounding(frame: pd.DataFrame) -> pd.DataFrame:
    """Rounding prices to paise can push a wick inside the body; widen it back."""
    frame["high"] = frame[["open", "high", "close"]].max(axis=1)
    frame["low"] = frame[["open", "low", "close"]].min(axis=1)
    return frame


def generate(symbol: str, timeframe: str, start: datetime | None, end: datetime) -> pd.DataFrame:
    """Bars of `symbol` on `timeframe` that have closed by `end` (and start at or after `start`)."""
    if symbol not in SPECS or timeframe not in TIMEFRAMES:
        return empty_frame()
    spec = SPECS[symbol]
    end = end.astimezone(UTC)
    sessions = len(_sessions(end.date()))
    if sessions == 0:
        return empty_frame()
    bars = _fix_rounding(_path(symbol, sessions).copy())
    # A 5m bar stamped t is complete at t + 5 minutes.
    bars = bars[bars.index + pd.Timedelta(minutes=BAR_MINUTES) <= end]
    if timeframe != "5m":
        open_offset = pd.Timedelta(hours=spec.session_open_utc.hour, minutes=spec.session_open_utc.minute)
        if timeframe == "1d":
            bars = resample_ohlcv(bars, "1D")
            bucket = pd.Timedelta(days=1)
        else:
            bucket = pd.Timedelta({"15m": "15min", "30m": "30min", "1h": "1h"}[timeframe])
            # Anchor buckets at the session open so 1h bars read 09:15, 10:15, ... IST.
            bars = resample_ohlcv(bars, bucket, origin=pd.Timestamp("2000-01-01", tz="UTC") + open_offset)
        # Keep only buckets that are complete: their span has passed, or their session closed.
        session_close = (
            bars.index.normalize() + open_offset + pd.Timedelta(minutes=BAR_MINUTES * spec.bars_per_session)
        )
        done = (bars.index + bucket <= end) | (session_close <= end)
        bars = bars[done]
    if start is not None:
        bars = bars[bars.index >= pd.Timestamp(start)]
    return bars[OHLCV]
