"""How much evidence overlapping outcomes carry, and paired tests between two sets of calls.

Neighbouring bars share most of their horizon (24 bars on 5m): the outcome of bar p and bar p+1
are nearly the same move, so counting every bar as an independent trial would make a test far
too sure of itself. The effective sample keeps only bars at least one horizon apart, whose
outcomes share no price move: a direct, conservative count that needs no model of the overlap.

Written out by hand (exact binomial tails and a moving-block bootstrap, a few lines each) rather
than adding SciPy or statsmodels as a dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 12


def effective_index(positions: np.ndarray, horizon: int) -> np.ndarray:
    """Indices of a greedy subsample of time-sorted bar positions at least `horizon` bars apart."""
    keep: list[int] = []
    next_allowed = -(2**62)
    for i, p in enumerate(np.asarray(positions, dtype=np.int64).tolist()):
        if p >= next_allowed:
            keep.append(i)
            next_allowed = p + max(int(horizon), 1)
    return np.asarray(keep, dtype=np.int64)


def binomial_upper_tail(k: int, n: int, p: float = 0.5) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed exactly in log space."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test on paired hits: only the pairs where exactly one side was right count."""

    a_only: int  # pairs where a was right and b wrong
    b_only: int  # pairs where b was right and a wrong
    n: int  # pairs compared
    p_greater: float  # one-sided: a is right more often than b
    p_two_sided: float

    def as_json(self) -> dict[str, Any]:
        return {
            "a_only": self.a_only,
            "b_only": self.b_only,
            "pairs": self.n,
            "p_value": round(self.p_two_sided, 6),
            "p_a_better": round(self.p_greater, 6),
        }


def mcnemar(a_hits: np.ndarray, b_hits: np.ndarray) -> McNemar:
    a, b = np.asarray(a_hits, dtype=bool), np.asarray(b_hits, dtype=bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = a_only + b_only
    greater = binomial_upper_tail(a_only, discordant)
    less = binomial_upper_tail(b_only, discordant)
    two_sided = min(1.0, 2.0 * min(greater, less)) if discordant else 1.0
    return McNemar(a_only, b_only, len(a), greater, two_sided)


def block_bootstrap_ci(
    series: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    block: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[float] | None:
    """95 % percentile interval of `statistic` under a moving-block bootstrap over time.

    `series` has time along axis 0 (one or more columns, resampled together so pairs stay paired);
    `statistic` maps a (resamples, time, ...) array to one value per resample. Blocks of `block`
    bars keep the overlap between neighbouring outcomes inside each resample.
    """
    data = np.asarray(series, dtype="float64")
    n = len(data)
    if n < 2:
        return None
    block = int(min(max(block, 1), n))
    starts_per = math.ceil(n / block)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, size=(resamples, starts_per))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(resamples, -1)[:, :n]
    values = statistic(data[idx])
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [round(float(lo), 6), round(float(hi), 6)]


def compounded(returns: np.ndarray) -> np.ndarray:
    """Compounded return along axis 1 (the bootstrap statistic of a P&L)."""
    return np.prod(1.0 + returns, axis=1) - 1.0
