"""Splits, statistics, the signal backtest and the reality metrics, on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bots.base import Predictions
from core.bots.dataset import build_inputs
from core.evaluation.backtest import follow_signals
from core.evaluation.intervals import wilson_interval
from core.evaluation.metrics import realised_returns, reality
from core.evaluation.splits import chrono_split
from core.evaluation.stats import downsample, json_safe, max_drawdown, spearman


def bars_from_closes(closes: list[float], spread: float = 0.0) -> pd.DataFrame:
    close = np.asarray(closes, dtype="float64")
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC", name="ts")
    return pd.DataFrame(
        {
            "open": close,
            "high": close * (1 + spread),
            "low": close * (1 - spread),
            "close": close,
            "volume": 1.0,
        },
        index=index,
    )


def test_split_purges_and_embargoes_the_label_horizon():
    positions = np.arange(100, 300, 2)  # 100 points, two bars apart
    horizons = np.full(100, 10)
    split = chrono_split(positions, horizons, test_fraction=0.2)
    cut = positions[split.test[0]]
    assert split.test.tolist() == list(range(80, 100))  # the newest points, in order
    assert split.embargo_bars == 10
    assert np.all(positions[split.train] + horizons[split.train] + 10 <= cut)
    assert split.purged == 80 - len(split.train) == 9  # bars 242..258 (+10 horizon +10 embargo > 260)
    explicit = chrono_split(positions, horizons, test_fraction=0.2, embargo=0)
    assert np.all(positions[explicit.train] + 10 <= cut) and explicit.purged == 4
    with pytest.raises(ValueError, match="sorted"):
        chrono_split(positions[::-1], horizons, test_fraction=0.2)


def test_wilson_interval_reads_small_samples_honestly():
    lo, hi = wilson_interval(21, 40)  # 52 % on 40 points
    assert lo == pytest.approx(0.3750, abs=1e-3) and hi == pytest.approx(0.6706, abs=1e-3)
    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.69 < lo < 0.73


def test_small_statistics():
    assert spearman(np.array([1, 2, 3, 4]), np.array([10, 20, 30, 40])) == 1.0
    assert spearman(np.array([1, 2, 3, 4]), np.array([4, 3, 2, 1])) == -1.0
    assert spearman(np.array([1, 2]), np.array([1, 2])) is None
    assert max_drawdown(np.array([1.0, 1.2, 0.9, 1.3])) == pytest.approx(0.25)
    points = [(str(i), float(i)) for i in range(1000)]
    small = downsample(points, 200)
    assert len(small) <= 200 and small[0] == ["0", 0.0] and small[-1] == ["999", 999.0]
    assert json_safe({"a": np.float64("nan"), "b": (np.int64(2), float("inf"))}) == {
        "a": None,
        "b": [2, None],
    }


def test_backtest_follows_targets_and_stops_one_position_at_a_time():
    # Bars: entry at 100, then up to 106 (target 105 hit on bar 2), then down to 94 (stop 95 hit).
    closes = [100, 102, 106, 103, 100, 97, 94, 94, 94, 94]
    bars = bars_from_closes(closes)
    positions = np.array([0, 1, 4])
    direction = np.array([1, 1, 1])
    target = np.array([105.0, 110.0, 110.0])
    stop = np.array([95.0, 95.0, 95.0])
    result = follow_signals(bars, positions, direction, target, stop, np.array([5, 5, 5]))
    # Trade 1 exits at bar 2 (+5 %); the signal at bar 1 is skipped (a trade is open); bar 4 stops out.
    assert result.trades == 2
    assert result.returns.tolist() == pytest.approx([0.05, -0.05])
    assert result.pnl == pytest.approx(1.05 * 0.95 - 1)
    assert result.max_drawdown == pytest.approx(0.05)
    short = follow_signals(
        bars, np.array([2]), np.array([-1]), np.array([95.0]), np.array([110.0]), np.array([5])
    )
    assert short.returns.tolist() == pytest.approx([1 - 95 / 106])
    assert short.equity_curve[0][1] == 1.0 and len(short.equity_curve) == 2


def test_reality_metrics_use_the_bars_not_the_labels():
    rng = np.random.default_rng(3)
    bars = bars_from_closes(list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))), spread=0.002)
    positions = np.arange(100, 280)
    horizons = np.full(len(positions), 5)
    realised = realised_returns(bars, positions, horizons)
    inputs = build_inputs(bars, positions)
    # A model that knows the realised direction scores 1.0; its opposite scores 0.0.
    for sign, expected in ((1.0, 1.0), (-1.0, 0.0)):
        er = sign * realised
        pred = Predictions(
            np.sign(er).astype(np.int8),
            er,
            np.full_like(er, 0.02),
            np.full_like(er, 0.02),
            np.full_like(er, 0.65),
        )
        metrics = reality(bars, inputs, horizons, pred)
        assert metrics["directional_accuracy"] == expected
        assert metrics["directional_accuracy_n"] == len(positions)
        assert metrics["information_coefficient"] == pytest.approx(sign)
        assert 0.5 <= metrics["baseline_directional_accuracy"] <= 1.0
        lo, hi = metrics["directional_accuracy_ci"]
        assert lo <= expected <= hi
        assert metrics["calibration"] == {
            "0.6-0.7": {
                "count": len(positions),
                "hit_rate": expected,
                "ci": metrics["directional_accuracy_ci"],
            }
        }
    # Points whose horizon runs past the last bar have no realised direction and are counted as such.
    late = np.array([290, 297])
    short_inputs = build_inputs(bars, late)
    zeros = np.zeros(2)
    pred = Predictions(np.ones(2, dtype=np.int8), zeros + 0.01, zeros + 0.02, zeros + 0.02, zeros + 0.6)
    metrics = reality(bars, short_inputs, np.array([5, 5]), pred)
    assert metrics["directional_accuracy_n"] == 1 and metrics["directional_unknown"] == 1
