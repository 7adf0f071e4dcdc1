"""Small statistics written out by hand (a few lines each) rather than adding SciPy as a dependency."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.evaluation.intervals import wilson_interval


def wilson(successes: int, n: int) -> list[float] | None:
    """The Wilson 95 % interval as a JSON-ready [lo, hi] (None when n is 0)."""
    ci = wilson_interval(successes, n)
    return list(ci) if ci else None


def proportion(hits: np.ndarray) -> tuple[float | None, int, list[float] | None]:
    """Share of True, its count and 95 % interval; None for an empty sample."""
    n = len(hits)
    k = int(np.sum(hits))
    return (round(k / n, 4) if n else None), n, wilson(k, n)


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Rank correlation (average ranks for ties); None with fewer than 3 points or a constant side."""
    if len(x) < 3:
        return None
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return None
    return round(float(np.corrcoef(rx, ry)[0, 1]), 4)


def max_drawdown(equity: np.ndarray) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0 for a curve that never falls)."""
    if len(equity) == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    return float(np.max((peak - equity) / peak))


def downsample_index(n: int, limit: int = 200) -> np.ndarray:
    """At most `limit` evenly spaced positions of `n`, always keeping the first and the last."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def downsample(points: Sequence[tuple[str, float]], limit: int = 200) -> list[list[object]]:
    """At most `limit` evenly spaced points, always keeping the first and the last."""
    if len(points) <= limit:
        return [[t, v] for t, v in points]
    idx = np.unique(np.linspace(0, len(points) - 1, limit).round().astype(int))
    return [[points[i][0], points[i][1]] for i in idx]


def finite(value: float | None, digits: int = 6) -> float | None:
    """Round a number for JSON, turning NaN/inf into None (the CLI prints strict JSON)."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def json_safe(value: object) -> object:
    """A copy fit for strict JSON: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
