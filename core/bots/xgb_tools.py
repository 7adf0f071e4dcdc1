"""Thin XGBoost plumbing for the tree bots: train with early stopping, serialise as UBJ, gain scores.

UBJ via `save_raw` is XGBoost's own format; loading it runs no pickled code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xgboost as xgb

# Below this many rows a tree level is too little work to share: OpenMP's per-level barriers cost
# more than they save, and far more when other processes compete for the cores.
PARALLEL_MIN_ROWS = 10_000


def _matrix(x: np.ndarray, names: tuple[str, ...], y: np.ndarray | None = None) -> xgb.DMatrix:
    return xgb.DMatrix(x, label=y, feature_names=list(names), missing=np.nan, nthread=1)


def train_booster(
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    *,
    rounds: int,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    early_stopping: int | None = None,
) -> xgb.Booster:
    """Fit a (multi-output) booster; with `valid`, stop early and keep only the trees that helped."""
    base = {"tree_method": "hist", "objective": "reg:squarederror", "verbosity": 0, **params}
    if len(x) < PARALLEL_MIN_ROWS:
        base["nthread"] = 1
    train = _matrix(x, names, y)
    if valid is None or not early_stopping or len(valid[0]) == 0:
        return _for_prediction(xgb.train(base, train, num_boost_round=rounds))
    evals = [(_matrix(valid[0], names, valid[1]), "valid")]
    booster = xgb.train(
        base,
        train,
        num_boost_round=rounds,
        evals=evals,
        early_stopping_rounds=early_stopping,
        verbose_eval=False,
    )
    return _for_prediction(booster[: booster.best_iteration + 1])


def _for_prediction(booster: xgb.Booster) -> xgb.Booster:
    """Predictions (one bar, or a replay of a few thousand) are cheap: one thread, no barriers."""
    booster.set_param({"nthread": 1})
    return booster


def predict(booster: xgb.Booster, x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    out = booster.predict(_matrix(x, names))
    return out.reshape(len(x), -1).astype("float64")


def to_bytes(booster: xgb.Booster) -> bytes:
    return bytes(booster.save_raw("ubj"))


def from_bytes(data: bytes) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(data))
    return _for_prediction(booster)


def gain_scores(booster: xgb.Booster) -> dict[str, float]:
    """Total gain per feature: how much each feature reduced the loss across all splits."""
    return {str(k): float(v) for k, v in booster.get_score(importance_type="total_gain").items()}
