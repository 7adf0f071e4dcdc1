"""Hindsight through the service: only points with a full future are sampled, and quality agrees."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from core.context import Context
from core.data import store as bar_store
from core.db.models import Label, LabelSet
from core.labeling.comparison import compare_label_sets, compare_with_offline
from core.labeling.service import run_labeling

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database


def test_hindsight_labels_need_their_future_and_score_as_their_own_outcome(goog_ctx: Context) -> None:
    result = run_labeling(goog_ctx, "GOOG", "1d", samples=60, labeler="hindsight", sampling="uniform", seed=3)
    assert result.labeler == "hindsight" and result.labeled + result.rejected == 60
    with goog_ctx.db.read() as session:
        bars = bar_store.load_bars(session, "GOOG", "1d")
        stamps = session.scalars(select(Label.ts).where(Label.label_set_id == result.label_set_id)).all()
        label_set = session.get(LabelSet, result.label_set_id)
    positions = bars.index.get_indexer(pd.DatetimeIndex(stamps))
    assert (positions >= 0).all() and (positions + 10 < len(bars)).all()  # a full 10-bar future
    assert label_set.params["future_bars"] == 10 and label_set.params["labeler_params"]["horizon_bars"] == 10
    q = result.quality
    # Hindsight BUY/SELL are defined by which barrier the price touched first, so scored against the
    # same barriers every one of them is target_first: the shared primitive agrees with itself.
    assert q["pending"] == 0 and q["target_first_rate"] == 1.0 and q["stop_first_rate"] == 0.0
    # A hindsight HOLD touched neither barrier (in range) or both inside one bar (stop first).
    assert q["hold"]["count"] == 0 or q["hold"]["broke_up_rate"] == 0.0


def test_labelers_compared_on_the_same_points(goog_ctx: Context) -> None:
    rules = run_labeling(goog_ctx, "GOOG", "1d", samples=40, labeler="rules", seed=5)
    report = compare_with_offline(goog_ctx, rules.label_set_id)
    hind = report["against"]["hindsight"]
    assert report["points"] == 40 and "rules" not in report["against"]
    assert 30 <= hind["shared"] <= 40  # points without 10 future bars cannot get a hindsight label
    assert sum(sum(row.values()) for row in hind["confusion"].values()) == hind["shared"]
    assert 0.0 <= hind["agreement"] <= 1.0 and -1.0 <= hind["kappa"] <= 1.0

    same = run_labeling(goog_ctx, "GOOG", "1d", samples=40, labeler="rules", seed=5)
    pairs = compare_label_sets(goog_ctx, [rules.label_set_id, same.label_set_id])["pairs"]
    assert pairs[0]["shared"] == 40 and pairs[0]["agreement"] == 1.0 and pairs[0]["kappa"] == 1.0
