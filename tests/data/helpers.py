"""Trader-style CSV files made on the spot, and a logical snapshot of the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd


def fx_bars(n: int, *, freq: str, start: str, price: float, sd: float, seed: int, pad: int) -> pd.DataFrame:
    """FX-like bars at `freq` on weekdays only (FX closes at the weekend), 5 decimals; `pad` extra
    stamps are drawn so that `n` weekday bars remain once the weekends are dropped."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=int(n * 7 / 5) + pad, freq=freq, tz="UTC")
    stamps = stamps[stamps.day_of_week < 5][:n]
    close = price * np.exp(np.cumsum(rng.normal(0, sd, n)))
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0, sd / 2, n))
    return pd.DataFrame(
        {
            "Open": open_.round(5),
            "High": (np.maximum(open_, close) * (1 + wick)).round(5) + 0.00001,
            "Low": (np.minimum(open_, close) * (1 - wick)).round(5) - 0.00001,
            "Close": close.round(5),
            "Volume": rng.integers(100, 1_000, n),
        },
        index=pd.DatetimeIndex(stamps, name="Datetime"),
    )


def hourly_fx(n: int = 5_000, *, seed: int = 3, start: str = "2024-01-01") -> pd.DataFrame:
    """An EURUSD-like hourly series, 24 hours on weekdays, 5 decimals."""
    return fx_bars(n, freq="1h", start=start, price=1.09, sd=0.0012, seed=seed, pad=48)


def write_yahoo(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, date_format="%Y-%m-%d %H:%M:%S")
    return path


def dump(home: Path) -> list[str]:
    """The store's content as `sqlite3 .dump` prints it: equal dumps, equal stores."""
    conn = sqlite3.connect(home / "candlelab.db")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
