"""The chart path's free history labels: hindsight at the horizon, spaced, and the analyst first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.planted import planted_edge
from core.features.indicators import compute_features
from core.labeling.hindsight import HorizonLabeler
from core.labeling.sampling import MIN_HISTORY
from core.training.history import MAX_HISTORY_LABELS, history_positions, merge_labels


def test_horizon_labels_name_the_direction_the_close_took() -> None:
    bars = planted_edge(1, 800).bars
    close = bars["close"].to_numpy()
    positions = np.arange(60, 800, 7)
    records = HorizonLabeler(12).label(bars, compute_features(bars), positions)
    kept = positions[positions + 12 < len(bars)]
    assert [r.ts for r in records] == list(bars.index[kept].to_pydatetime())  # no label without its future
    for r, p in zip(records, kept, strict=True):
        assert r.status == "accepted" and r.horizon_bars == 12
        later = close[p + 12]
        assert r.recommendation == ("BUY" if later > close[p] else "SELL")
        # The target is where the close went; the stop as far on the other side.
        assert abs(r.target - later) <= 1e-4 * close[p] + 1e-6
        assert abs((r.target - close[p]) + (r.stop_loss - close[p])) < 1e-5


def test_history_points_are_spaced_bounded_and_have_their_horizon() -> None:
    small = history_positions(1_000, 12)
    assert small[0] == MIN_HISTORY and np.all(np.diff(small) == 6) and small[-1] + 12 < 1_000
    big = history_positions(100_000, 12)
    assert len(big) <= MAX_HISTORY_LABELS and big[-1] + 12 < 100_000
    assert len(history_positions(MIN_HISTORY + 5, 12)) == 0


def test_the_analysts_label_wins_where_both_labeled() -> None:
    times = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
    history = pd.DataFrame({"recommendation": ["BUY", "SELL", "BUY", "SELL"]}, index=times)
    analyst = pd.DataFrame({"recommendation": ["HOLD"]}, index=times[1:2])
    merged = merge_labels(analyst, history, "llm")
    assert list(merged["recommendation"]) == ["BUY", "HOLD", "BUY", "SELL"]
    assert list(merged["labeler"]) == ["hindsight", "llm", "hindsight", "hindsight"]
