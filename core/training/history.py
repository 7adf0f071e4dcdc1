"""The chart path's evidence: free hindsight labels across a long stretch of stored history.

A quick run's analyst (the LLM, or the rule-based analyst offline) labels `QUICK_SAMPLES`
points of the newest days, as it always has. Judged on those alone a model meets only a dozen
independent out-of-sample points, and the promotion gate rightly needs 30. So the run also
labels a long stretch of the stored history for free, with the hindsight labeler (triple
barrier: what the price really did), and trains and judges on the union: walk-forward over the
whole stretch, purged and embargoed as always, with the analyst's labels where it labeled (the
newest points) and the hindsight labels elsewhere. Both label sets are stored, so every training
row's labeler is on record, and the version's lineage names both sets and their counts.
"""

from __future__ import annotations

import math

import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.labeling.sampling import MIN_HISTORY
from core.requests import LabelingRequest

HISTORY_LABELER = "hindsight"
# One free label every few bars: neighbours share most of their horizon, so labeling every bar
# would cost fitting time without adding independent information.
HISTORY_LABEL_EVERY = 4
MAX_HISTORY_LABELS = 5_000


def history_request(
    ctx: Context, symbol: str, timeframe: str, *, end: pd.Timestamp, bars: int, seed: int = 0
) -> LabelingRequest | None:
    """The free labeling run over the newest `bars` stored bars up to `end` (None when too few)."""
    with ctx.db.read() as session:
        stored = bar_store.load_bars(session, symbol, timeframe, end=end.to_pydatetime(), limit=bars)
    if len(stored) <= MIN_HISTORY + 1:
        return None
    span_days = (stored.index[-1] - stored.index[0]).total_seconds() / 86_400
    samples = max(1, min(MAX_HISTORY_LABELS, (len(stored) - MIN_HISTORY) // HISTORY_LABEL_EVERY))
    return LabelingRequest(
        symbol=symbol,
        timeframe=timeframe,
        labeler=HISTORY_LABELER,
        samples=samples,
        sampling="uniform",
        seed=seed,
        # A hair more than the span, so the oldest of the `bars` bars is inside the window.
        lookback_days=max(span_days + 1e-6, 1e-3) if math.isfinite(span_days) else None,
        end=end.to_pydatetime(),
    )


def merge_labels(analyst: pd.DataFrame, history: pd.DataFrame, analyst_labeler: str) -> pd.DataFrame:
    """The union of both label frames, the analyst's label winning where both labeled a bar;
    a `labeler` column says who made each row."""
    analyst = analyst.assign(labeler=analyst_labeler)
    history = history.assign(labeler=HISTORY_LABELER)
    history = history[~history.index.isin(analyst.index)]
    return pd.concat([history, analyst]).sort_index()
