"""Paired comparisons of two labelers' bots judged on the same out-of-sample bars.

Directional hits: an exact McNemar test on the effective sample (bars one horizon apart), the
same independent points for both sides. P&L: the difference of the two compounded after-cost
returns, with a 95 % moving-block bootstrap interval (blocks of one horizon, both sides resampled
on the same bars so the pairing holds).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from core.evaluation.metrics import Reality
from core.evaluation.significance import block_bootstrap_ci, compounded, mcnemar


def _pnl_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return compounded(a) - compounded(b)


def aligned_returns(a: Reality, b: Reality) -> np.ndarray:
    """The two marked-to-market bar-return series side by side (flat after a shorter one ends)."""
    ra, rb = a.backtest.bar_returns(), b.backtest.bar_returns()
    n = max(len(ra), len(rb))
    return np.column_stack([np.pad(ra, (0, n - len(ra))), np.pad(rb, (0, n - len(rb)))])


def pnl_interval(score: Reality, horizon: int) -> list[float] | None:
    """95 % block-bootstrap interval of one backtest's compounded P&L."""
    return block_bootstrap_ci(score.backtest.bar_returns(), compounded, horizon)


def compare_pair(bot: str, a: str, b: str, sa: Reality, sb: Reality, horizon: int) -> dict[str, Any]:
    if not np.array_equal(sa.positions, sb.positions):
        raise ValueError("a paired comparison needs both sides judged on the same bars")
    test = mcnemar(sa.hits[sa.effective], sb.hits[sb.effective])
    both = aligned_returns(sa, sb)
    ci = block_bootstrap_ci(both, lambda x: _pnl_difference(x[..., 0], x[..., 1]), horizon)
    pnl_a, pnl_b = sa.backtest.pnl, sb.backtest.pnl
    return {
        "bot": bot,
        "a": a,
        "b": b,
        **test.as_json(),
        "directional_accuracy_a": sa.metrics.get("directional_accuracy"),
        "directional_accuracy_b": sb.metrics.get("directional_accuracy"),
        "pnl_a": round(pnl_a, 6),
        "pnl_b": round(pnl_b, 6),
        "pnl_difference": round(pnl_a - pnl_b, 6),
        "pnl_difference_ci": ci,
    }


def compare_all(
    scores: dict[tuple[str, str], Reality], labelers: list[str], bots: list[str], horizon: int
) -> list[dict[str, Any]]:
    """Every pair of labelers, per bot, in the order the labelers were given."""
    out = []
    for bot in bots:
        for a, b in itertools.combinations(labelers, 2):
            out.append(compare_pair(bot, a, b, scores[(a, bot)], scores[(b, bot)], horizon))
    return out
