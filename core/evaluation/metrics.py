"""The numbers recorded per version: how well a bot reproduces its labels, and how its calls fared
against what the price really did on the held-out bars.

Reality is read from the bars, never from labels: the realised return of a point is
close[p + h] / close[p] - 1 over its label horizon h. Points whose horizon runs past the last
stored bar, or whose price ended exactly flat, have no direction and are left out (and counted).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from core.bots.base import Predictions
from core.bots.dataset import Inputs, Targets
from core.bots.signal import price_levels
from core.evaluation.backtest import follow_signals
from core.evaluation.stats import finite, proportion, spearman, wilson

CONFIDENCE_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def realised_returns(bars: pd.DataFrame, positions: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """Forward return over each point's horizon; NaN where the bars do not reach that far yet."""
    close = bars["close"].to_numpy(dtype="float64")
    end = positions + horizons
    out = np.full(len(positions), np.nan)
    ok = end < len(close)
    out[ok] = close[end[ok]] / close[positions[ok]] - 1.0
    return out


def _share(prefix: str, hits: np.ndarray) -> dict[str, Any]:
    value, n, ci = proportion(hits)
    return {prefix: value, f"{prefix}_n": n, f"{prefix}_ci": ci}


def label_fit(
    train_pred: Predictions, train: Targets, test_pred: Predictions, test: Targets
) -> dict[str, Any]:
    """Agreement with the labels: the original system's train/validation accuracy and MAE names."""
    out = {
        **_share("train_accuracy", train_pred.direction.astype(np.int64) + 1 == train.direction),
        **_share("validation_accuracy", test_pred.direction.astype(np.int64) + 1 == test.direction),
    }
    err = np.abs(test_pred.expected_return - test.expected_return)
    out["validation_mae"] = finite(float(err.mean())) if len(err) else None
    out["validation_n"] = len(err)
    return out


def _baselines(bars: pd.DataFrame, positions: np.ndarray, up: np.ndarray) -> dict[str, Any]:
    """The best of two naive guesses on the same points.

    Majority: the more frequent realised direction of the evaluated period itself, i.e. the best
    constant guess even with hindsight of the period's drift (deliberately generous to the baseline).
    Momentum: the direction of the point's last bar (close[p] vs close[p-1]).
    """
    n = len(up)
    ups = int(up.sum())
    majority_hits = max(ups, n - ups)
    close = bars["close"].to_numpy(dtype="float64")
    prev = close[np.maximum(positions - 1, 0)]
    momentum_hits = int(np.sum((close[positions] >= prev) == up))
    kind, hits = (
        ("majority", majority_hits) if majority_hits >= momentum_hits else ("momentum", momentum_hits)
    )
    return {
        "baseline_directional_accuracy": round(hits / n, 4) if n else None,
        "baseline_directional_accuracy_n": n,
        "baseline_directional_accuracy_ci": wilson(hits, n),
        "baseline_kind": kind,
        "majority_accuracy": round(majority_hits / n, 4) if n else None,
        "momentum_accuracy": round(momentum_hits / n, 4) if n else None,
    }


def calibration(confidence: np.ndarray, hit: np.ndarray) -> dict[str, dict[str, Any]]:
    """Confidence bucket -> count and hit rate of the BUY/SELL calls in it (empty buckets left out)."""
    out: dict[str, dict[str, Any]] = {}
    edges = CONFIDENCE_EDGES
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        mask = (confidence >= lo) & ((confidence <= hi) if last else (confidence < hi))
        if mask.any():
            k, n = int(hit[mask].sum()), int(mask.sum())
            out[f"{lo:.1f}-{hi:.1f}"] = {"count": n, "hit_rate": round(k / n, 4), "ci": wilson(k, n)}
    return out


def reality(bars: pd.DataFrame, inputs: Inputs, horizons: np.ndarray, pred: Predictions) -> dict[str, Any]:
    """Directional accuracy against the realised return, its baseline, the IC and the signal backtest."""
    positions = inputs.positions
    realised = realised_returns(bars, positions, horizons)
    known = np.isfinite(realised) & (realised != 0)
    up = realised[known] > 0
    out: dict[str, Any] = {
        **_share("directional_accuracy", (pred.expected_return[known] > 0) == up),
        **_baselines(bars, positions[known], up),
        "directional_unknown": int((~known).sum()),
    }
    acc, base = out["directional_accuracy"], out["baseline_directional_accuracy"]
    out["directional_edge"] = round(acc - base, 4) if acc is not None and base is not None else None
    calls = known & (pred.direction != 0)
    call_hits = (pred.direction[calls] > 0) == (realised[calls] > 0)
    out.update(_share("signal_accuracy", call_hits))
    has_future = np.isfinite(realised)
    out["information_coefficient"] = spearman(pred.expected_return[has_future], realised[has_future])
    out["information_coefficient_n"] = int(has_future.sum())
    target, stop = price_levels(pred.direction, inputs.prices, pred.target_dist, pred.stop_dist)
    trades = follow_signals(bars, positions, pred.direction.astype(np.int64), target, stop, horizons)
    wins = trades.returns > 0
    out.update(
        {
            "pnl": finite(trades.pnl),
            "trades": trades.trades,
            **_share("hit_rate", wins),
            "avg_trade_return": finite(float(trades.returns.mean())) if trades.trades else None,
            "max_drawdown": finite(trades.max_drawdown),
            "equity_curve": trades.equity_curve,
            "calibration": calibration(pred.confidence[calls], call_hits),
        }
    )
    return out
