"""Indicators are causal: the value at bar t never changes when later bars are appended."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.csv_stream import read_ohlcv_csv
from core.features.indicators import FEATURE_COLUMNS, WARMUP_BARS, compute_features, prompt_indicators
from tests.conftest import GOOG_CSV


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return read_ohlcv_csv(GOOG_CSV)


@pytest.mark.parametrize("cut", [100, 777, 1500, 2147])
def test_truncation_does_not_change_past_values(goog: pd.DataFrame, cut: int) -> None:
    full = compute_features(goog)
    part = compute_features(goog.iloc[:cut])
    pd.testing.assert_frame_equal(full.iloc[:cut], part, check_freq=False, rtol=1e-9, atol=1e-12)


def test_changing_a_future_bar_changes_nothing_before_it(goog: pd.DataFrame) -> None:
    base = compute_features(goog)
    shocked = goog.copy()
    shocked.iloc[1000, shocked.columns.get_loc("close")] *= 1.3
    shocked.iloc[1000, shocked.columns.get_loc("high")] *= 1.3
    after = compute_features(shocked)
    pd.testing.assert_frame_equal(base.iloc[:1000], after.iloc[:1000], check_freq=False)
    assert not np.allclose(base.iloc[1000][list(FEATURE_COLUMNS)], after.iloc[1000][list(FEATURE_COLUMNS)])


def test_all_features_defined_after_warmup(goog: pd.DataFrame) -> None:
    feats = compute_features(goog)
    assert list(FEATURE_COLUMNS) == [c for c in feats.columns if c in FEATURE_COLUMNS]
    assert not feats[list(FEATURE_COLUMNS)].iloc[WARMUP_BARS:].isna().any().any()


def test_known_values_on_a_steady_climb() -> None:
    n = 120
    close = 100 * 1.01 ** np.arange(n)
    bars = pd.DataFrame(
        {
            "open": close / 1.01,
            "high": close * 1.001,
            "low": close / 1.01 * 0.999,
            "close": close,
            "volume": 1000.0,
        },
        index=pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"),
    )
    feats = compute_features(bars)
    last = feats.iloc[-1]
    assert last["rsi_14"] == pytest.approx(1.0)  # only gains
    assert last["ret_1"] == pytest.approx(np.log(1.01))
    assert last["ret_20"] == pytest.approx(20 * np.log(1.01))
    assert last["macd"] > 0 and last["sma_dist_50"] > 0
    assert last["volume_z"] == 0.0  # constant volume: no surprise
    assert prompt_indicators(last, float(close[-1]))["rsi_14"] == pytest.approx(100.0)
