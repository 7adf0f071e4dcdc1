"""Test helpers: random-walk bars and hindsight label sets, in memory or stored like a labeling run."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from core.artifacts.base import new_key
from core.bots.dataset import build_dataset
from core.bots.factory import bot_class
from core.context import Context
from core.data import store as bar_store
from core.evaluation.intervals import wilson_interval
from core.features.indicators import compute_features
from core.labeling import store as label_store
from core.labeling.hindsight import HindsightLabeler
from core.labeling.sampling import MIN_HISTORY
from core.registry.versions import VersionView, register_version
from core.training.records import start_record

# Small sizes for tests (production defaults stay as they are); tests pass these explicitly.
SMALL: dict[str, dict[str, Any]] = {
    "xgb_agent": {"rounds": 150},
    "ensemble_bot": {"gb_rounds": 150, "forest_trees": 30},
    "lstm_bot": {"window": 16, "hidden": 16, "epochs": 6, "patience": 2},
    "transformer_bot": {"window": 16, "hidden": 16, "epochs": 6, "patience": 2},
}

LABEL_COLUMNS = ["current_price", "target", "stop_loss", "confidence", "recommendation", "horizon_bars"]


def random_walk(
    n: int, seed: int, *, vol: float = 0.01, start: str = "2015-01-01", freq: str = "D"
) -> pd.DataFrame:
    """A pure random walk: log returns i.i.d. normal, so no feature can predict the next move."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.normal(0.0, vol / 2, (n, 2)))
    high = np.maximum(open_, close) * (1 + wick[:, 0])
    low = np.minimum(open_, close) * (1 - wick[:, 1])
    volume = rng.lognormal(12.0, 0.4, n).round()
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def hindsight_frame(
    bars: pd.DataFrame, *, horizon: int = 10, every: int = 1, barrier_atr: float = 1.5
) -> pd.DataFrame:
    """Hindsight labels of every `every`-th eligible bar, as the label-like frame `load_labels` returns."""
    features = compute_features(bars)
    positions = np.arange(MIN_HISTORY, len(bars) - horizon, every)
    records = HindsightLabeler(horizon, barrier_atr).label(bars, features, positions)
    rows = [{"ts": r.ts, **{c: getattr(r, c) for c in LABEL_COLUMNS}} for r in records if r.accepted]
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.set_index("ts")


def store_bars(ctx: Context, symbol: str, timeframe: str, bars: pd.DataFrame) -> None:
    with ctx.db.session() as session:
        bar_store.upsert_bars(session, symbol, timeframe, bars, source="test")
        bar_store.mark_series(session, symbol, timeframe, source="test")


def store_hindsight_set(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    horizon: int = 10,
    samples: int | None = None,
    seed: int = 0,
    positions: np.ndarray | None = None,
) -> int:
    """Label stored bars with the hindsight labeler and store them as a finished label set."""
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, symbol, timeframe)
    features = compute_features(bars)
    if positions is None:
        eligible = np.arange(MIN_HISTORY, len(bars) - horizon)
        if samples is not None and samples < len(eligible):
            rng = np.random.default_rng(seed)
            eligible = np.sort(rng.choice(eligible, samples, replace=False))
        positions = eligible
    labeler = HindsightLabeler(horizon)
    records = labeler.label(bars, features, positions)
    accepted = sum(r.accepted for r in records)
    with ctx.db.session() as session:
        label_set = label_store.create_label_set(
            session,
            symbol=symbol,
            timeframe=timeframe,
            labeler="hindsight",
            sampling="uniform",
            seed=seed,
            requested=len(records),
            params=labeler.params(),
        )
        label_store.add_labels(session, label_set.id, records)
        label_store.finish_label_set(
            session, label_set.id, status="succeeded", labeled=accepted, rejected=len(records) - accepted
        )
        return label_set.id


@functools.cache
def tiny_model_files(bot: str = "xgb_agent") -> dict[str, bytes]:
    """Artifact files of a small real model (trained once per test process)."""
    bars = random_walk(600, 0)
    dataset = build_dataset(bars, hindsight_frame(bars, horizon=5))
    params = {"xgb_agent": {"rounds": 5}, "ensemble_bot": {"gb_rounds": 5, "forest_trees": 3}}.get(
        bot, SMALL.get(bot, {})
    )
    model = bot_class(bot)(seed=0, **params)
    return model.fit(dataset).to_files()


def add_version(
    ctx: Context,
    *,
    symbol: str = "TEST",
    timeframe: str = "1d",
    bot: str = "xgb_agent",
    metrics: dict[str, Any] | None = None,
) -> VersionView:
    """Register a ready version with a real artifact, as a training run would."""
    record_id = start_record(
        ctx.db,
        job_id=None,
        symbol=symbol,
        timeframe=timeframe,
        bot=bot,
        training_type="manual",
        label_set_id=None,
        config={},
    )
    artifact = ctx.artifacts.write(new_key(record_id), tiny_model_files(bot))
    return register_version(
        ctx.db,
        symbol=symbol,
        timeframe=timeframe,
        bot=bot,
        artifact=artifact,
        metrics=metrics or {},
        params={},
        lineage={},
        label_set_id=None,
        training_type="manual",
        training_record_id=record_id,
    )


def heldout_metrics(
    accuracy: float, baseline: float, pnl: float, n: int = 100, *, p: float = 0.01, bars: int | None = None
) -> dict[str, Any]:
    """Out-of-sample metrics as training records them: `n` independent points, edge p-value `p`."""
    return {
        "directional_accuracy": accuracy,
        "directional_accuracy_ci": list(wilson_interval(round(accuracy * n), n) or (0.0, 1.0)),
        "baseline_directional_accuracy": baseline,
        "baseline_kind": "majority",
        "directional_accuracy_n": bars or 10 * n,
        "directional_effective_n": n,
        "directional_edge_p_value": p,
        "pnl": pnl,
    }
