"""Comparing labelers on the same points: how often the LLM, the rules and hindsight agree.

Two views for the Labels page:
- `compare_label_sets`: stored sets of one pair, matched on the timestamps they share;
- `compare_with_offline`: one stored set against the rule and hindsight labels computed now for
  exactly its points (sampling differs per labeler, so stored sets rarely share many points).
Agreement is on the recommendation; Cohen's kappa discounts the agreement expected by chance.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.errors import BadInput
from core.features.indicators import compute_features
from core.labeling import store
from core.labeling.labelers import make_offline_labeler

RECOMMENDATIONS = ("BUY", "SELL", "HOLD")


def agreement(a: pd.Series, b: pd.Series) -> dict[str, object]:
    """Agreement of two recommendation series (indexed by time) on the points they share."""
    a, b = a.align(b, join="inner")
    n = len(a)
    if n == 0:
        return {
            "shared": 0,
            "agreement": None,
            "direction_agreement": None,
            "directional_shared": 0,
            "kappa": None,
            "confusion": {},
        }
    same = float((a == b).mean())
    directional = a.isin(["BUY", "SELL"]) & b.isin(["BUY", "SELL"])
    direction = float((a[directional] == b[directional]).mean()) if directional.any() else None
    pa = a.value_counts(normalize=True)
    pb = b.value_counts(normalize=True)
    chance = float(sum(pa.get(r, 0.0) * pb.get(r, 0.0) for r in RECOMMENDATIONS))
    kappa = None if chance >= 1.0 else (same - chance) / (1.0 - chance)
    confusion = {
        ra: {rb: int(((a == ra) & (b == rb)).sum()) for rb in RECOMMENDATIONS} for ra in RECOMMENDATIONS
    }
    return {
        "shared": n,
        "agreement": round(same, 4),
        "direction_agreement": None if direction is None else round(direction, 4),
        "directional_shared": int(directional.sum()),
        "kappa": None if kappa is None else round(kappa, 4),
        "confusion": confusion,
    }


def _recommendations(ctx: Context, label_set_id: int) -> tuple[dict[str, object], pd.Series]:
    with ctx.db.read() as session:
        label_set = store.get_label_set(session, label_set_id)
        info = {
            "label_set_id": label_set.id,
            "labeler": label_set.labeler,
            "symbol": label_set.symbol,
            "timeframe": label_set.timeframe,
        }
        labels = store.load_labels(session, label_set_id)
    return info, labels["recommendation"]


def compare_label_sets(ctx: Context, label_set_ids: Sequence[int]) -> dict[str, object]:
    """Pairwise agreement of stored sets of one (symbol, timeframe) on their shared timestamps."""
    loaded = [_recommendations(ctx, i) for i in dict.fromkeys(label_set_ids)]
    pairs = {(info["symbol"], info["timeframe"]) for info, _ in loaded}
    if len(pairs) > 1:
        raise BadInput("label sets to compare must share one symbol and timeframe")
    return {
        "sets": [info for info, _ in loaded],
        "pairs": [
            {"a": ia["label_set_id"], "b": ib["label_set_id"], **agreement(ra, rb)}
            for (ia, ra), (ib, rb) in itertools.combinations(loaded, 2)
        ],
    }


def compare_with_offline(
    ctx: Context, label_set_id: int, labelers: Sequence[str] = ("rules", "hindsight")
) -> dict[str, object]:
    """Agreement of a stored set with offline labelers run now on exactly its points."""
    info, recs = _recommendations(ctx, label_set_id)
    symbol, timeframe = str(info["symbol"]), str(info["timeframe"])
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, symbol, timeframe)
    out: dict[str, object] = {"set": info, "points": len(recs), "against": {}}
    if recs.empty or bars.empty:
        return out
    features = compute_features(bars)
    pos = bars.index.get_indexer(recs.index)
    against: dict[str, object] = {}
    for name in labelers:
        if name == info["labeler"]:
            continue
        labeler = make_offline_labeler(name, timeframe)
        usable = (pos >= 0) & (pos + labeler.future_bars < len(bars))
        if not usable.any():
            against[name] = agreement(recs.iloc[:0], recs.iloc[:0])
            continue
        records = labeler.label(bars, features, np.sort(pos[usable]))
        theirs = pd.Series(
            [r.recommendation for r in records if r.accepted],
            index=pd.DatetimeIndex([r.ts for r in records if r.accepted]),
            dtype=object,
        )
        against[name] = agreement(recs, theirs)
    out["against"] = against
    return out
