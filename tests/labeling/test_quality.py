"""Label quality on hand-built bars where the first barrier touched is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.context import Context
from core.data import store as bar_store
from core.labeling import store
from core.labeling.quality import rescore_pending, score_label_set, score_outcomes, summarize
from core.labeling.schema import LabelRecord

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database

DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2024-01-01", tz="UTC")


def _bars(n: int, path: dict[int, tuple[float, float, float]] | None = None) -> pd.DataFrame:
    """Flat bars at 100 (high 101, low 99) except `path`: position -> (high, low, close)."""
    high, low, close = np.full(n, 101.0), np.full(n, 99.0), np.full(n, 100.0)
    for pos, (h, lo, c) in (path or {}).items():
        high[pos], low[pos], close[pos] = h, lo, c
    index = pd.date_range(START, periods=n, freq="1D", name="ts")
    return pd.DataFrame({"open": close, "high": high, "low": low, "close": close, "volume": 1.0}, index=index)


def _label(
    rec: str, target: float, stop: float, at: int = 0, horizon: int | None = 5, conf: float = 0.7
) -> dict:
    return {
        "ts": START + at * DAY,
        "recommendation": rec,
        "current_price": 100.0,
        "target": target,
        "stop_loss": stop,
        "confidence": conf,
        "horizon_bars": horizon,
    }


def _score(bars: pd.DataFrame, *labels: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(labels)).set_index("ts")
    return score_outcomes(bars, frame, "1d").join(frame)


@pytest.mark.parametrize(
    ("path", "label", "outcome", "bars_to"),
    [
        ({2: (106, 99, 104)}, _label("BUY", 105, 95), "target_first", 2),
        ({1: (101, 94, 96), 3: (106, 99, 104)}, _label("BUY", 105, 95), "stop_first", 1),
        ({2: (106, 94, 100)}, _label("BUY", 105, 95), "stop_first", 2),  # both in one bar: conservative
        ({}, _label("BUY", 105, 95), "neither", 5),
        ({6: (110, 99, 108)}, _label("BUY", 105, 95), "neither", 5),  # hit after the horizon does not count
        ({3: (101, 94, 95)}, _label("SELL", 95, 105), "target_first", 3),
        ({1: (106, 99, 105), 2: (101, 90, 92)}, _label("SELL", 95, 105), "stop_first", 1),
        ({}, _label("HOLD", 103, 97), "neither", 5),  # HOLD: stayed inside its range
        ({4: (101, 96, 97)}, _label("HOLD", 103, 97), "stop_first", 4),  # broke out below
        ({2: (106, 99, 104)}, _label("BUY", 105, 95, horizon=None), "target_first", 2),  # default horizon
    ],
)
def test_first_barrier(path: dict, label: dict, outcome: str, bars_to: int) -> None:
    (row,) = _score(_bars(20, path), label).itertuples()
    assert row.outcome == outcome and row.outcome_bars == bars_to


def test_realised_return_is_over_the_horizon_in_the_labels_direction() -> None:
    bars = _bars(20, {2: (106, 99, 104), 5: (102.5, 99, 102.0)})
    buy = _score(bars, _label("BUY", 105, 95))
    assert buy["outcome"].iloc[0] == "target_first"
    assert buy["outcome_return"].iloc[0] == pytest.approx(0.02)  # close at bar 5 vs 100, not the target
    sell = _score(bars, _label("SELL", 90, 110))
    assert sell["outcome_return"].iloc[0] == pytest.approx(-0.02)


def test_points_without_their_full_horizon_are_pending() -> None:
    bars = _bars(10, {9: (120, 99, 118)})
    scored = _score(bars, _label("BUY", 105, 95, at=6, horizon=5), _label("BUY", 105, 95, at=4, horizon=5))
    assert list(scored["outcome"]) == ["pending", "target_first"]
    assert math.isnan(scored["outcome_return"].iloc[0]) and scored["outcome_bars"].iloc[0] is None


def test_summary_rates_and_calibration() -> None:
    path = {
        2: (106, 99, 104),
        5: (104.5, 99, 104),  # BUY@0: target first, +4 % at the horizon
        11: (101, 94, 96),
        15: (101, 99, 100),  # BUY@10: stop first, 0 %
        21: (101, 94, 96),
        25: (101, 95.5, 96),  # SELL@20: target first, +4 % (short)
        35: (103.5, 99, 103),  # BUY@30 (110/90): neither, +3 %
    }
    scored = _score(
        _bars(40, path),
        _label("BUY", 105, 95, at=0, conf=0.55),
        _label("BUY", 105, 95, at=10, conf=0.65),
        _label("SELL", 95, 105, at=20, conf=0.75),
        _label("BUY", 110, 90, at=30, conf=0.95),
        _label("HOLD", 103, 97, at=14, conf=0.6),  # in range (bars 15-19 stay within 97-103)
        _label("BUY", 105, 95, at=37, conf=0.8),  # pending: its horizon runs past the data
    )
    q = summarize(scored, "1d")
    assert (q["labels"], q["scored"], q["pending"], q["directional_scored"]) == (6, 5, 1, 4)
    assert q["counts"] == {"target_first": 2, "stop_first": 1, "neither": 1}
    assert (q["target_first_rate"], q["stop_first_rate"], q["neither_rate"]) == (0.5, 0.25, 0.25)
    assert q["directional_hit_rate"] == 0.75 and q["mean_realised_return"] == pytest.approx(0.0275)
    assert q["hold"] == {
        "count": 1,
        "in_range_rate": 1.0,
        "broke_up_rate": 0.0,
        "broke_down_rate": 0.0,
        "mean_abs_return": 0.0,
    }
    buckets = {b["bucket"]: b for b in q["calibration"]}
    assert buckets["0.5-0.6"]["count"] == 1 and buckets["0.5-0.6"]["target_first_rate"] == 1.0
    assert buckets["0.6-0.7"]["target_first_rate"] == 0.0 and buckets["0.9-1.0"]["count"] == 1
    assert buckets["0.8-0.9"]["count"] == 0 and buckets["0.8-0.9"]["target_first_rate"] is None


def test_pending_labels_are_scored_once_their_bars_exist(ctx: Context) -> None:
    bars = _bars(30, {27: (107, 99, 106)})
    with ctx.db.session() as session:
        bar_store.upsert_bars(session, "TEST", "1d", bars.iloc[:25], source="csv")
        set_id = store.create_label_set(
            session, symbol="TEST", timeframe="1d", labeler="llm", sampling="uniform"
        ).id
        store.add_labels(
            session,
            set_id,
            [
                LabelRecord(
                    (START + 22 * DAY).to_pydatetime(),
                    100.0,
                    "accepted",
                    target=105.0,
                    stop_loss=95.0,
                    confidence=0.7,
                    recommendation="BUY",
                    bias="bullish",
                    horizon_bars=5,
                ),
                LabelRecord(
                    (START + 10 * DAY).to_pydatetime(),
                    100.0,
                    "accepted",
                    target=105.0,
                    stop_loss=95.0,
                    confidence=0.7,
                    recommendation="BUY",
                    bias="bullish",
                    horizon_bars=5,
                ),
                LabelRecord((START + 12 * DAY).to_pydatetime(), 100.0, "rejected", reject_reason="bad"),
            ],
        )
    first = score_label_set(ctx, set_id)
    assert (first["labels"], first["scored"], first["pending"]) == (2, 1, 1)

    with ctx.db.session() as session:  # time passes: the newer bars arrive
        bar_store.upsert_bars(session, "TEST", "1d", bars.iloc[25:], source="csv")
    rescored = rescore_pending(ctx, "TEST", "1d")
    assert list(rescored) == [set_id]
    assert (rescored[set_id]["scored"], rescored[set_id]["pending"]) == (2, 0)
    assert rescored[set_id]["counts"]["target_first"] == 1
    with ctx.db.read() as session:
        labels = store.load_labels(session, set_id)
        assert store.get_label_set(session, set_id).quality["pending"] == 0
    assert list(labels["outcome"]) == ["neither", "target_first"]
    assert rescore_pending(ctx) == {}  # nothing left to do
