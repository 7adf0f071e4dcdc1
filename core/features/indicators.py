"""Technical indicators for labelers and bots, vectorised and strictly causal.

Every value at bar t is computed from bars at or before t only: rolling windows are trailing,
exponential averages are recursive (`adjust=False`), nothing is centred or back-filled. The test
suite checks this by recomputing on truncated series and comparing.

`FEATURE_COLUMNS` are the model inputs. They are scale-free (returns, ratios, z-scores) so a
model trained at one price level applies at another. `atr` and `sma_20` stay in price units for
the labelers that size targets and stops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RETURN_HORIZONS = (1, 3, 5, 10, 20)

FEATURE_COLUMNS: tuple[str, ...] = (
    *(f"ret_{h}" for h in RETURN_HORIZONS),
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "atr_pct",
    "bb_pos",
    "bb_width",
    "volume_z",
    "rvol_20",
    "rvol_ratio",
    "sma_dist_20",
    "sma_dist_50",
    "range_pct",
    "close_pos",
)

# Bars of history before every feature is defined (the longest window, SMA 50, plus slack for
# the recursive averages to forget their seed).
WARMUP_BARS = 60


def _wilder(values: pd.Series, period: int) -> pd.Series:
    return values.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()


def compute_features(bars: pd.DataFrame) -> pd.DataFrame:
    """All indicators for an OHLCV frame, one row per bar, NaN during each indicator's warm-up."""
    close = bars["close"].astype("float64")
    high = bars["high"].astype("float64")
    low = bars["low"].astype("float64")
    volume = bars["volume"].astype("float64")
    log_close = pd.Series(np.log(close.to_numpy()), index=bars.index)

    out: dict[str, pd.Series] = {}
    for h in RETURN_HORIZONS:
        out[f"ret_{h}"] = log_close.diff(h)

    delta = close.diff()
    gain = _wilder(delta.clip(lower=0.0), 14)
    loss = _wilder((-delta).clip(lower=0.0), 14)
    # RSI in [0, 1]; a flat stretch (no gains, no losses) reads as neutral 0.5.
    total = gain + loss
    out["rsi_14"] = (gain / total.where(total > 0)).fillna(0.5).where(gain.notna())

    ema12 = close.ewm(span=12, adjust=False, min_periods=12).mean()
    ema26 = close.ewm(span=26, adjust=False, min_periods=26).mean()
    macd = (ema12 - ema26) / close
    signal = macd.ewm(span=9, adjust=False, min_periods=9).mean()
    out["macd"], out["macd_signal"], out["macd_hist"] = macd, signal, macd - signal

    prev_close = close.shift(1)
    true_range = pd.concat([high - low, (high - prev_close).abs(), (low - prev_close).abs()], axis=1).max(
        axis=1
    )
    atr = _wilder(true_range, 14)
    out["atr_pct"] = atr / close

    sma20 = close.rolling(20, min_periods=20).mean()
    std20 = close.rolling(20, min_periods=20).std(ddof=0)
    out["bb_pos"] = (close - sma20) / (2.0 * std20.where(std20 > 0))
    out["bb_width"] = 4.0 * std20 / sma20

    log_vol = pd.Series(np.log1p(volume.to_numpy()), index=bars.index)
    vol_mean = log_vol.rolling(20, min_periods=20).mean()
    vol_std = log_vol.rolling(20, min_periods=20).std(ddof=0)
    out["volume_z"] = ((log_vol - vol_mean) / vol_std.where(vol_std > 0)).fillna(0.0).where(vol_mean.notna())

    r1 = out["ret_1"]
    rvol20 = r1.rolling(20, min_periods=20).std(ddof=0)
    rvol5 = r1.rolling(5, min_periods=5).std(ddof=0)
    out["rvol_20"] = rvol20
    out["rvol_ratio"] = rvol5 / rvol20.where(rvol20 > 0)

    out["sma_dist_20"] = close / sma20 - 1.0
    out["sma_dist_50"] = close / close.rolling(50, min_periods=50).mean() - 1.0
    span = high - low
    out["range_pct"] = span / close
    out["close_pos"] = ((close - low) / span.where(span > 0)).fillna(0.5)

    frame = pd.DataFrame(out, index=bars.index)
    frame["atr"] = atr
    frame["sma_20"] = sma20
    return frame.replace([np.inf, -np.inf], np.nan)


def prompt_indicators(features: pd.Series, price: float) -> dict[str, float | None]:
    """The indicator block of an LLM request, in the units an analyst reads (RSI 0-100, ATR in price)."""

    def num(value: object, digits: int = 4) -> float | None:
        try:
            f = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return None if not np.isfinite(f) else round(f, digits)

    return {
        "rsi_14": num(features.get("rsi_14", np.nan) * 100, 2),
        "macd_pct": num(features.get("macd", np.nan) * 100, 4),
        "macd_hist_pct": num(features.get("macd_hist", np.nan) * 100, 4),
        "atr_14": num(features.get("atr"), 4),
        "atr_pct": num(features.get("atr_pct", np.nan) * 100, 3),
        "bollinger_position": num(features.get("bb_pos"), 3),
        "sma_20": num(features.get("sma_20"), 4),
        "distance_from_sma_50_pct": num(features.get("sma_dist_50", np.nan) * 100, 3),
        "return_5_bars_pct": num(features.get("ret_5", np.nan) * 100, 3),
        "return_20_bars_pct": num(features.get("ret_20", np.nan) * 100, 3),
        "realized_vol_20_pct": num(features.get("rvol_20", np.nan) * 100, 4),
        "volume_zscore": num(features.get("volume_z"), 3),
        "price": num(price, 4),
    }
