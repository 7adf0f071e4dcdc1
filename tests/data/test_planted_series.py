"""The power benchmark's series: the planted edge has the size it claims, the control has none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.frames import validate_ohlcv
from core.data.planted import garch_random_walk, planted_edge

H = 12


def _directional(close: np.ndarray, call_up: np.ndarray) -> float:
    """Share of bars whose call matches the sign of the 12-bar forward move."""
    fwd = np.log(close[H:]) - np.log(close[:-H])
    ok = np.isfinite(call_up[:-H].astype(float)) & (fwd != 0)
    return float(((call_up[:-H] > 0) == (fwd > 0))[ok].mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_edge_has_the_advertised_size(seed: int) -> None:
    series = planted_edge(seed)
    bars, close = series.bars, series.bars["close"].to_numpy()
    assert len(bars) == 20_000
    log_close = np.log(close)
    warm = slice(60, None)  # past the SMA's warm-up
    ideal = -series.deviation  # the deviation reverts: expect the opposite move
    sma = pd.Series(close).rolling(20).mean().to_numpy()
    momentum = np.r_[np.zeros(H), log_close[H:] - log_close[:-H]]
    fwd_up = (log_close[H:] > log_close[:-H]).mean()
    scores = {
        "ideal": _directional(close[warm], ideal[warm]),
        "sma20": _directional(close[warm], (sma - close)[warm]),
        "momentum": _directional(close[warm], momentum[warm]),
        "majority": max(fwd_up, 1 - fwd_up),
    }
    assert 0.60 <= scores["ideal"] <= 0.645, scores
    assert 0.53 <= scores["sma20"] <= 0.57, scores
    assert 0.43 <= scores["momentum"] <= 0.47, scores
    assert 0.49 <= scores["majority"] <= 0.53, scores


def test_per_bar_scales_and_the_control_has_no_edge() -> None:
    series = planted_edge(5)
    trend_and_dev = np.diff(np.log(series.bars["close"].to_numpy()))
    assert 0.0018 < trend_and_dev.std() < 0.0030
    walk = garch_random_walk(5)
    validate_ohlcv(walk)
    validate_ohlcv(series.bars)
    close = walk["close"].to_numpy()
    returns = np.diff(np.log(close))
    assert len(walk) == 20_000
    assert 0.0015 < returns.std() < 0.0035
    # Fat tails (Student-t, clustered variance) and no reversion: SMA20 is a coin here.
    kurtosis = ((returns - returns.mean()) ** 4).mean() / returns.var() ** 2
    assert kurtosis > 4
    sma = pd.Series(close).rolling(20).mean().to_numpy()
    assert 0.47 <= _directional(close[60:], (sma - close)[60:]) <= 0.53
    # Deterministic per seed.
    pd.testing.assert_frame_equal(walk, garch_random_walk(5))
    pd.testing.assert_frame_equal(series.bars, planted_edge(5).bars)
