"""Label quality: how each label fared against what the price really did, and a set-level summary.

For every accepted label whose horizon has fully passed, with the shared first-touch primitive
(`barriers.barrier_hits`), from the close of the labeled bar over `horizon_bars` (the label's own,
else the timeframe default):
- BUY / SELL: `target_first`, `stop_first` or `neither`. Both touched inside one bar (order
  unknown) counts as `stop_first`, the conservative reading.
- HOLD: target and stop bracket the expected range, so `neither` means the price stayed in it;
  `target_first` / `stop_first` say which side it broke out of first.
- `outcome_return`: close-to-close return over the horizon in the label's direction (raw for HOLD).
Labels whose horizon has not passed yet are `pending`; `score_label_set` scores them once the bars
exist (the CLI's `label rescore`, the dashboard and the job runner call it).

The knowledge-cutoff firewall: an LLM label of a point before its model's training-data cutoff
may be memory of what came next, not analysis. The headline figures (`summarize` of the set)
count only the other labels; the pre-cutoff ones are summarised apart under
`possibly_remembered`, with their own n, and `firewall` says how many fell on each side.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.labeling import store
from core.labeling.barriers import NOT_HIT, barrier_hits
from core.labeling.schema import default_horizon

OUTCOMES = ("target_first", "stop_first", "neither")
CONFIDENCE_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def score_outcomes(bars: pd.DataFrame, labels: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Outcome, directional return and bars-to-outcome for each label (index: label time).

    `labels` needs recommendation, current_price, target, stop_loss and horizon_bars. A label whose
    bar is not in `bars` gets outcome None (it cannot be scored against this series).
    """
    n = len(labels)
    outcome = np.full(n, None, dtype=object)
    outcome_return = np.full(n, np.nan)
    outcome_bars = np.full(n, None, dtype=object)

    def frame() -> pd.DataFrame:
        return pd.DataFrame(
            {"outcome": outcome, "outcome_return": outcome_return, "outcome_bars": outcome_bars},
            index=labels.index,
        )

    pos = bars.index.get_indexer(labels.index) if n else np.zeros(0, dtype=np.int64)
    known = np.flatnonzero(pos >= 0)
    if len(known) == 0:
        return frame()
    rec = labels["recommendation"].to_numpy(dtype=object)[known]
    target = labels["target"].to_numpy(dtype="float64")[known]
    stop = labels["stop_loss"].to_numpy(dtype="float64")[known]
    entry = labels["current_price"].to_numpy(dtype="float64")[known]
    horizon = pd.to_numeric(labels["horizon_bars"], errors="coerce").to_numpy(dtype="float64")[known]
    horizon = np.where(np.isfinite(horizon) & (horizon >= 1), horizon, default_horizon(timeframe))
    horizon = horizon.astype(np.int64)

    sell, hold = rec == "SELL", rec == "HOLD"
    upper = np.where(sell, stop, np.where(hold, np.fmax(target, stop), target))
    lower = np.where(sell, target, np.where(hold, np.fmin(target, stop), stop))
    hits = barrier_hits(
        bars["high"].to_numpy(dtype="float64"),
        bars["low"].to_numpy(dtype="float64"),
        bars["close"].to_numpy(dtype="float64"),
        pos[known],
        upper,
        lower,
        horizon,
    )
    up_first, down_first = hits.up_at < hits.down_at, hits.down_at < hits.up_at
    hit_any = (hits.up_at != NOT_HIT) | (hits.down_at != NOT_HIT)
    # Target first only when strictly earlier; a same-bar touch of both falls through to stop_first.
    target_first = np.where(sell, down_first, up_first)
    result = np.where(target_first, "target_first", np.where(hit_any, "stop_first", "neither")).astype(object)
    # Scored only once the whole horizon exists, so outcome and return are judged on the same bars.
    finished = hits.available >= hits.horizon
    result[~finished] = "pending"
    direction = np.where(sell, -1.0, 1.0)
    ret = direction * (hits.end_close / entry - 1.0)
    bars_to = np.where(hit_any, np.minimum(hits.up_at, hits.down_at), horizon)

    outcome[known] = result
    outcome_return[known] = np.where(finished, ret, np.nan)
    outcome_bars[known] = [int(b) if f else None for b, f in zip(bars_to, finished, strict=True)]
    return frame()


def _rate(mask: pd.Series | np.ndarray, n: int) -> float | None:
    return None if n == 0 else round(float(np.sum(mask)) / n, 4)


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return None if values.empty else round(float(values.mean()), 6)


def _directional(frame: pd.DataFrame) -> dict[str, object]:
    n = len(frame)
    return {
        "count": n,
        "target_first_rate": _rate(frame["outcome"] == "target_first", n),
        "stop_first_rate": _rate(frame["outcome"] == "stop_first", n),
        "neither_rate": _rate(frame["outcome"] == "neither", n),
        "mean_realised_return": _mean(frame["outcome_return"]),
        "directional_hit_rate": _rate(frame["outcome_return"] > 0, n),
    }


def _calibration(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Hit rates per confidence bucket: a calibrated labeler's 0.7-0.8 bucket hits about 75 % of the time."""
    buckets = []
    conf = frame["confidence"].astype("float64")
    for lo, hi in itertools.pairwise(CONFIDENCE_EDGES):
        inside = (conf >= lo) & ((conf < hi) | ((hi == 1.0) & (conf <= hi)))
        part = frame[inside]
        n = len(part)
        buckets.append(
            {
                "bucket": f"{lo:.1f}-{hi:.1f}",
                "count": n,
                "mean_confidence": _mean(part["confidence"].astype("float64")),
                "target_first_rate": _rate(part["outcome"] == "target_first", n),
                "directional_hit_rate": _rate(part["outcome_return"] > 0, n),
            }
        )
    return buckets


def summarize(labels: pd.DataFrame, timeframe: str) -> dict[str, object]:
    """The `quality` block of a label set (accepted labels with their outcome columns)."""
    outcome = labels["outcome"]
    scored_mask = outcome.isin(OUTCOMES)
    scored = labels[scored_mask]
    directional = scored[scored["recommendation"].isin(["BUY", "SELL"])]
    holds = scored[scored["recommendation"] == "HOLD"]
    n_hold = len(holds)
    summary: dict[str, object] = {
        "labels": len(labels),
        "scored": int(scored_mask.sum()),
        "pending": int((outcome == "pending").sum()),
        "unscorable": int(outcome.isna().sum()),
        "default_horizon_bars": default_horizon(timeframe),
        "ambiguous_bar_rule": "stop_first",
        "counts": {name: int((directional["outcome"] == name).sum()) for name in OUTCOMES},
        **{k: v for k, v in _directional(directional).items() if k != "count"},
        "directional_scored": len(directional),
        "by_recommendation": {
            rec: _directional(directional[directional["recommendation"] == rec]) for rec in ("BUY", "SELL")
        },
        "hold": {
            "count": n_hold,
            "in_range_rate": _rate(holds["outcome"] == "neither", n_hold),
            "broke_up_rate": _rate(holds["outcome"] == "target_first", n_hold),
            "broke_down_rate": _rate(holds["outcome"] == "stop_first", n_hold),
            "mean_abs_return": _mean(holds["outcome_return"].abs()),
        },
        "calibration": _calibration(directional),
    }
    return summary


def summarize_with_firewall(labels: pd.DataFrame, timeframe: str, cutoff: object = None) -> dict[str, object]:
    """`summarize` of the labels after the cutoff, the pre-cutoff ones apart (see the module docstring)."""
    pre = labels["pre_cutoff"].fillna(False).astype(bool) if "pre_cutoff" in labels else None
    if pre is None or not pre.any():
        summary = summarize(labels, timeframe)
        if cutoff is not None:
            summary["firewall"] = {
                "knowledge_cutoff": str(cutoff),
                "post_cutoff_n": len(labels),
                "pre_cutoff_n": 0,
            }
        return summary
    summary = summarize(labels[~pre], timeframe)
    summary["possibly_remembered"] = summarize(labels[pre], timeframe)
    summary["firewall"] = {
        "knowledge_cutoff": None if cutoff is None else str(cutoff),
        "post_cutoff_n": int((~pre).sum()),
        "pre_cutoff_n": int(pre.sum()),
    }
    return summary


def score_label_set(
    ctx: Context, label_set_id: int, *, bars: pd.DataFrame | None = None
) -> dict[str, object]:
    """Score the set's unscored and pending labels against the stored bars; store and return the summary."""
    with ctx.db.read() as session:
        label_set = store.get_label_set(session, label_set_id)
        symbol, timeframe, cutoff = label_set.symbol, label_set.timeframe, label_set.knowledge_cutoff
        labels = store.load_labels(session, label_set_id)
        todo = labels[labels["outcome"].isna() | (labels["outcome"] == "pending")]
        if bars is None and not todo.empty:
            bars = bar_store.load_bars(session, symbol, timeframe, start=todo.index.min().to_pydatetime())
    if not todo.empty and bars is not None and not bars.empty:
        scored = score_outcomes(bars, todo, timeframe)
        scored = scored[scored["outcome"].notna()]
        # Column-wise, not row by row: a history label set holds thousands of labels.
        ids = todo["id"].reindex(scored.index).to_numpy()
        rows = [
            {
                "id": int(label_id),
                "outcome": outcome,
                "outcome_return": None if pd.isna(ret) else float(ret),
                "outcome_bars": None if pd.isna(bars_to) else int(bars_to),
            }
            for label_id, outcome, ret, bars_to in zip(
                ids, scored["outcome"], scored["outcome_return"], scored["outcome_bars"], strict=True
            )
        ]
        with ctx.db.session() as session:
            store.update_outcomes(session, rows)
        with ctx.db.read() as session:
            labels = store.load_labels(session, label_set_id)
    summary = summarize_with_firewall(labels, timeframe, cutoff)
    with ctx.db.session() as session:
        store.get_label_set(session, label_set_id).quality = summary
    return summary


def rescore_pending(
    ctx: Context, symbol: str | None = None, timeframe: str | None = None
) -> dict[int, dict[str, object]]:
    """Re-score every label set (optionally of one pair) that still has pending labels."""
    from sqlalchemy import or_, select

    from core.db.models import Label, LabelSet

    with ctx.db.read() as session:
        query = (
            select(LabelSet.id)
            .join(Label, Label.label_set_id == LabelSet.id)
            .where(Label.status == "accepted", or_(Label.outcome.is_(None), Label.outcome == "pending"))
            .distinct()
        )
        if symbol:
            query = query.where(LabelSet.symbol == symbol)
        if timeframe:
            query = query.where(LabelSet.timeframe == timeframe)
        ids = list(session.scalars(query))
    return {set_id: score_label_set(ctx, set_id) for set_id in sorted(ids)}
