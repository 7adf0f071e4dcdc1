"""The OHLCV frame every part of CandleLab passes around, and the checks that guard it.

Convention: a `DataFrame` indexed by an aware UTC `DatetimeIndex` named `ts`, sorted, unique,
with float columns `open high low close volume`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import BadInput

OHLCV = ["open", "high", "low", "close", "volume"]
PRICE_COLUMNS = ["open", "high", "low", "close"]


def empty_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([], tz="UTC", name="ts")
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in OHLCV}, index=index)


def _describe_row(frame: pd.DataFrame, pos: int, line_offset: int | None, lines: np.ndarray | None) -> str:
    stamp = frame.index[pos]
    if lines is not None:
        where = f"line {int(lines[pos])}"
    else:
        where = f"row {pos + 1}" if line_offset is None else f"line {pos + line_offset}"
    return f"{where} ({stamp.isoformat() if hasattr(stamp, 'isoformat') else stamp})"


def validate_ohlcv(
    frame: pd.DataFrame,
    *,
    line_offset: int | None = None,
    what: str = "data",
    lines: np.ndarray | None = None,
) -> pd.DataFrame:
    """Check an OHLCV frame and return it cleaned (sorted, float, UTC); raise `BadInput` naming the row.

    `line_offset` maps a row position to a line of the source file (2 for a CSV with one header
    row), or `lines` gives each row's line, so messages point at the line a user can open and fix.
    """
    if frame.empty:
        raise BadInput(f"{what} has no rows")
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        raise BadInput(f"{what} is missing column(s) {', '.join(missing)}")

    def where(pos: int) -> str:
        return _describe_row(out, pos, line_offset, lines)

    out = frame[OHLCV].copy()
    for col in OHLCV:
        numeric = pd.to_numeric(out[col], errors="coerce")
        bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype="float64", na_value=np.nan))
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise BadInput(f"{what}: {where(pos)} has a missing or non-numeric {col}")
        out[col] = numeric.astype("float64")
    checks = [
        ((out[PRICE_COLUMNS] <= 0).any(axis=1), "has a price that is zero or negative"),
        (out["volume"] < 0, "has a negative volume"),
        (out["high"] < out["low"], "has High below Low"),
        (out["high"] < out[["open", "close"]].max(axis=1), "has High below Open or Close"),
        (out["low"] > out[["open", "close"]].min(axis=1), "has Low above Open or Close"),
    ]
    for mask, problem in checks:
        if mask.any():
            pos = int(np.flatnonzero(mask.to_numpy())[0])
            raise BadInput(f"{what}: {where(pos)} {problem}")
    repeats = out.index.duplicated(keep="first")
    if repeats.any():
        raise BadInput(f"{what}: {where(int(np.flatnonzero(repeats)[0]))} repeats an earlier timestamp")
    out.index = out.index.rename("ts")
    return out.sort_index()


def resample_ohlcv(
    frame: pd.DataFrame, rule: str | pd.Timedelta, *, origin: str | pd.Timestamp = "start_day"
) -> pd.DataFrame:
    """Aggregate bars to a coarser timeframe, dropping empty buckets (nights, weekends)."""
    agg = frame.resample(rule, origin=origin, label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return agg.dropna(subset=["open", "close"])
