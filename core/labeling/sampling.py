"""Choosing the strategic points to label: uniform, volatility-weighted, or a mix of both.

Deterministic for a given seed. A point is eligible only when it has the history the prompt and
the features need (`min_history` bars before it) and, for labelers that look ahead, the future
bars they need (`future_bars`).
"""

from __future__ import annotations

import itertools
from typing import Literal

import numpy as np
import pandas as pd

from core.errors import BadInput
from core.features.indicators import WARMUP_BARS
from core.labeling.context import RECENT_CANDLES
from core.labeling.schema import SAMPLINGS

Sampling = Literal["uniform", "volatility", "mixed"]
MIN_HISTORY = max(WARMUP_BARS, RECENT_CANDLES)


def eligible_positions(n_bars: int, *, min_history: int = MIN_HISTORY, future_bars: int = 0) -> np.ndarray:
    return np.arange(min_history, max(min_history, n_bars - future_bars))


def _uniform(candidates: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """One random point in each of k equal strata: even coverage of the window, no clumps."""
    edges = np.linspace(0, len(candidates), k + 1).astype(int)
    picks = [rng.integers(lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo]
    return candidates[np.asarray(picks, dtype=int)]


def _volatility(candidates: np.ndarray, k: int, vol: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Weighted toward high realised volatility (known at the point itself, so no look-ahead)."""
    weights = np.nan_to_num(vol[candidates], nan=0.0, posinf=0.0)
    weights = np.clip(weights, 0.0, None)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    # Square the volatility to lean harder on turbulent stretches than plain proportionality.
    weights = weights**2
    return rng.choice(candidates, size=k, replace=False, p=weights / weights.sum())


def sample_points(
    features: pd.DataFrame,
    k: int,
    *,
    method: str = "mixed",
    seed: int = 0,
    min_history: int = MIN_HISTORY,
    future_bars: int = 0,
    vol_column: str = "rvol_20",
) -> np.ndarray:
    """Sorted integer positions (into `features`, aligned with the bars) of up to `k` points."""
    if method not in SAMPLINGS:
        raise BadInput(f"unknown sampling {method!r}; use one of {', '.join(SAMPLINGS)}")
    if k <= 0:
        raise BadInput("--samples must be at least 1")
    candidates = eligible_positions(len(features), min_history=min_history, future_bars=future_bars)
    if len(candidates) == 0:
        raise BadInput(
            f"not enough bars to label: {len(features)} stored, need more than {min_history + future_bars} "
            "(history for the prompt plus any look-ahead); fetch a longer window"
        )
    k = min(k, len(candidates))
    rng = np.random.default_rng(seed)
    vol = features[vol_column].to_numpy(dtype="float64") if vol_column in features else np.ones(len(features))
    if method == "uniform":
        chosen = _uniform(candidates, k, rng)
    elif method == "volatility":
        chosen = _volatility(candidates, k, vol, rng)
    else:
        n_uniform = k - k // 2
        first = _uniform(candidates, n_uniform, rng)
        rest = np.setdiff1d(candidates, first)
        second = _volatility(rest, min(k - n_uniform, len(rest)), vol, rng) if len(rest) else rest
        chosen = np.concatenate([first, second])
    return np.sort(np.unique(chosen))
