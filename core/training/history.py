"""The chart path's evidence: free hindsight labels across a long stretch of stored history.

A quick run's analyst (the LLM, or the rule-based analyst offline) labels `QUICK_SAMPLES`
points of the newest days, as it always has. Judged on those alone a model meets only a dozen
independent out-of-sample points, and the promotion gate rightly needs 30. So the run also
labels a long stretch of the stored history for free, with hindsight at the horizon (the
direction the close really took over the pair's label horizon, `HorizonLabeler`), and trains
and judges on the union: walk-forward over the whole stretch, purged and embargoed as always,
with the analyst's labels where it labeled (the newest points) and the hindsight labels
elsewhere. Both label sets are stored, so every training row's labeler is on record, and the
version's lineage names both sets and their counts.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.features.indicators import compute_features
from core.labeling import store as label_store
from core.labeling.hindsight import HorizonLabeler
from core.labeling.quality import score_label_set
from core.labeling.sampling import MIN_HISTORY
from core.labeling.schema import default_horizon
from core.labeling.writer import LabelWriter, Outcome

HISTORY_LABELER = "hindsight"
# One free label every few bars: neighbours share most of their horizon, so labeling every bar
# would cost fitting time without adding independent information.
HISTORY_LABEL_EVERY = 6
MAX_HISTORY_LABELS = 3_500


def history_positions(n_bars: int, horizon: int) -> np.ndarray:
    """Evenly spaced points with the features' history behind them and the horizon ahead."""
    eligible = max(0, n_bars - horizon - MIN_HISTORY)
    step = max(HISTORY_LABEL_EVERY, -(-eligible // MAX_HISTORY_LABELS))
    return np.arange(MIN_HISTORY, n_bars - horizon, step, dtype=np.int64)


def label_history(
    ctx: Context, symbol: str, timeframe: str, *, end: pd.Timestamp, bars: int, job_id: int | None
) -> int | None:
    """Label the newest `bars` stored bars up to `end` with hindsight; the label set's id (None
    when the history is too short to hold a label)."""
    started = time.perf_counter()
    with ctx.db.read() as session:
        window = bar_store.load_bars(session, symbol, timeframe, end=end.to_pydatetime(), limit=bars)
    labeler = HorizonLabeler(default_horizon(timeframe))
    positions = history_positions(len(window), labeler.horizon)
    if len(positions) == 0:
        return None
    records = labeler.label(window, compute_features(window), positions)
    with ctx.db.session() as session:
        set_id = label_store.create_label_set(
            session,
            symbol=symbol,
            timeframe=timeframe,
            labeler=HISTORY_LABELER,
            sampling="uniform",
            requested=len(positions),
            params={
                "samples_asked": len(positions),
                "history_bars": bars,
                "every_bars": int(positions[1] - positions[0]) if len(positions) > 1 else 1,
                "future_bars": labeler.future_bars,
                "labeler_params": labeler.params(),
                "role": "the chart path's history labels",
            },
            data_start=window.index[0].to_pydatetime(),
            data_end=window.index[-1].to_pydatetime(),
            job_id=job_id,
        ).id
    writer = LabelWriter(ctx.db, set_id)
    writer.write([Outcome(r) for r in records])
    quality = score_label_set(ctx, set_id, bars=window)
    with ctx.db.session() as session:
        label_store.finish_label_set(
            session,
            set_id,
            status="succeeded",
            wall_s=round(time.perf_counter() - started, 3),
            quality=quality,
        )
    return set_id


def merge_labels(analyst: pd.DataFrame, history: pd.DataFrame, analyst_labeler: str) -> pd.DataFrame:
    """The union of both label frames, the analyst's label winning where both labeled a bar;
    a `labeler` column says who made each row."""
    analyst = analyst.assign(labeler=analyst_labeler)
    history = history.assign(labeler=HISTORY_LABELER)
    history = history[~history.index.isin(analyst.index)]
    return pd.concat([history, analyst]).sort_index()
