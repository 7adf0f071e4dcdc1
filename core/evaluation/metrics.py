"""The numbers recorded per version: how well a bot reproduces its labels (on labeled points), and
how its calls fared against what the price really did (on EVERY out-of-sample bar).

Reality is read from the bars, never from labels: the realised return of bar p is
close[p + H] / close[p] - 1 over the evaluation horizon H (the pair's label horizon). Bars whose
horizon runs past the last stored bar, or whose price ended exactly flat, have no direction and
are left out (and counted).

Neighbouring bars share most of their horizon, so each proportion carries three numbers: the
share over every evaluated bar, `_n` (the bars counted) and `_effective_n` (bars at least one
horizon apart, see `significance`); its 95 % interval `_ci` is the Wilson interval at the
effective n, so it is as wide as the evidence really is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.bots.base import Predictions
from core.bots.dataset import Targets
from core.bots.signal import price_levels
from core.evaluation.backtest import Backtest, follow_signals
from core.evaluation.calibration import fit_calibration
from core.evaluation.costs import NO_COSTS, TradingCosts
from core.evaluation.significance import effective_index, mcnemar
from core.evaluation.stats import finite, proportion, spearman, wilson

CONFIDENCE_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def realised_returns(bars: pd.DataFrame, positions: np.ndarray, horizons: np.ndarray | int) -> np.ndarray:
    """Forward return over each point's horizon; NaN where the bars do not reach that far yet."""
    close = bars["close"].to_numpy(dtype="float64")
    positions = np.asarray(positions, dtype=np.int64)
    end = positions + np.asarray(horizons, dtype=np.int64)
    out = np.full(len(positions), np.nan)
    ok = end < len(close)
    out[ok] = close[end[ok]] / close[positions[ok]] - 1.0
    return out


def share(prefix: str, hits: np.ndarray, effective: np.ndarray | None = None) -> dict[str, Any]:
    """A proportion with its count, and with `effective` (a mask of independent points) the
    effective count and an interval of that width."""
    value, n, ci = proportion(hits)
    out: dict[str, Any] = {prefix: value, f"{prefix}_n": n, f"{prefix}_ci": ci}
    if effective is not None:
        n_eff = int(np.sum(effective))
        out[f"{prefix}_effective_n"] = n_eff
        out[f"{prefix}_ci"] = wilson(float(np.mean(hits)) * n_eff, n_eff) if n and n_eff else None
    return out


def train_fit(pred: Predictions, targets: Targets) -> dict[str, Any]:
    """How often the version's model reproduces the labels it was fitted on."""
    return share("train_accuracy", pred.direction.astype(np.int64) + 1 == targets.direction)


def validation_fit(pred: Predictions, targets: Targets) -> dict[str, Any]:
    """How often the folds' models reproduced the labels of their evaluated periods (never seen)."""
    out = share("validation_accuracy", pred.direction.astype(np.int64) + 1 == targets.direction)
    err = np.abs(pred.expected_return - targets.expected_return)
    out["validation_mae"] = finite(float(err.mean())) if len(err) else None
    out["validation_n"] = len(err)
    return out


def baseline_hits(bars: pd.DataFrame, positions: np.ndarray, up: np.ndarray) -> tuple[str, np.ndarray, dict]:
    """The better of two naive guesses on the same bars: (kind, its hits, the accuracies of both).

    Majority: the more frequent realised direction of the evaluated period itself, i.e. the best
    constant guess even with hindsight of the period's drift (deliberately generous to the baseline).
    Momentum: the direction of the bar's own move (close[p] vs close[p-1]).
    """
    close = bars["close"].to_numpy(dtype="float64")
    majority_up = int(up.sum()) * 2 >= len(up)
    majority = up == majority_up
    momentum = (close[positions] >= close[np.maximum(positions - 1, 0)]) == up
    n = len(up)
    both = {
        "majority_accuracy": round(float(majority.mean()), 4) if n else None,
        "momentum_accuracy": round(float(momentum.mean()), 4) if n else None,
    }
    if majority.sum() >= momentum.sum():
        return "majority", majority, both
    return "momentum", momentum, both


def calibration_table(confidence: np.ndarray, hit: np.ndarray) -> dict[str, dict[str, Any]]:
    """Raw-confidence bucket -> count and hit rate of the BUY/SELL calls in it (empty ones left out)."""
    out: dict[str, dict[str, Any]] = {}
    edges = CONFIDENCE_EDGES
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        mask = (confidence >= lo) & ((confidence <= hi) if last else (confidence < hi))
        if mask.any():
            k, n = int(hit[mask].sum()), int(mask.sum())
            out[f"{lo:.1f}-{hi:.1f}"] = {"count": n, "hit_rate": round(k / n, 4), "ci": wilson(k, n)}
    return out


def price_error(prices: np.ndarray, predicted_return: np.ndarray, realised: np.ndarray) -> dict[str, Any]:
    """Mean |predicted price - realised close| / realised close at the horizon, beside no-change."""
    ok = np.isfinite(realised)
    actual = prices[ok] * (1.0 + realised[ok])
    predicted = prices[ok] * (1.0 + predicted_return[ok])
    n = int(ok.sum())
    model = np.abs(predicted - actual) / actual
    naive = np.abs(prices[ok] - actual) / actual
    return {
        "price_error": finite(float(model.mean())) if n else None,
        "price_error_baseline": finite(float(naive.mean())) if n else None,
        "price_error_n": n,
    }


@dataclass(frozen=True)
class Reality:
    """Every evaluated bar's outcome, the model's and the baseline's hits, and the backtest."""

    positions: np.ndarray  # evaluated bars with a known direction
    hits: np.ndarray
    baseline: np.ndarray
    effective: np.ndarray  # bool mask over `positions`: the independent subsample
    backtest: Backtest
    metrics: dict[str, Any]


def _directional(
    bars: pd.DataFrame, positions: np.ndarray, horizon: int, pred: Predictions, realised: np.ndarray
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    known = np.isfinite(realised) & (realised != 0)
    up = realised[known] > 0
    hits = (pred.expected_return[known] > 0) == up
    effective = np.zeros(int(known.sum()), dtype=bool)
    effective[effective_index(positions[known], horizon)] = True
    kind, base, both = baseline_hits(bars, positions[known], up)
    out: dict[str, Any] = {
        **share("directional_accuracy", hits, effective),
        **share("baseline_directional_accuracy", base, effective),
        "baseline_kind": kind,
        **both,
        "directional_unknown": int((~known).sum()),
    }
    out["directional_effective_n"] = out.pop("directional_accuracy_effective_n")
    acc, base_acc = out["directional_accuracy"], out["baseline_directional_accuracy"]
    out["directional_edge"] = round(acc - base_acc, 4) if acc is not None and base_acc is not None else None
    test = mcnemar(hits[effective], base[effective])
    out["directional_edge_p_value"] = round(test.p_greater, 6)
    out["directional_edge_test"] = test.as_json()
    return out, known, hits, base


def reality(
    bars: pd.DataFrame,
    positions: np.ndarray,
    horizon: int,
    pred: Predictions,
    costs: TradingCosts = NO_COSTS,
) -> Reality:
    """Directional accuracy against the realised return, its baseline, the IC, the price error at
    the horizon, the after-cost signal backtest and the confidence calibration, on every bar given."""
    positions = np.asarray(positions, dtype=np.int64)
    prices = bars["close"].to_numpy(dtype="float64")[positions]
    realised = realised_returns(bars, positions, horizon)
    out, known, hits, base = _directional(bars, positions, horizon, pred, realised)
    calls = known & (pred.direction != 0)
    call_hits = (pred.direction[calls] > 0) == (realised[calls] > 0)
    call_eff = np.zeros(int(calls.sum()), dtype=bool)
    call_eff[effective_index(positions[calls], horizon)] = True
    out.update(share("signal_accuracy", call_hits, call_eff))
    has_future = np.isfinite(realised)
    out["information_coefficient"] = spearman(pred.expected_return[has_future], realised[has_future])
    out["information_coefficient_n"] = int(has_future.sum())
    out.update(price_error(prices, pred.expected_return, realised))
    target, stop = price_levels(pred.direction, prices, pred.target_dist, pred.stop_dist)
    trades = follow_signals(bars, positions, pred.direction.astype(np.int64), target, stop, horizon, costs)
    out.update(_trading(trades, costs))
    out.update(_baseline_trading(bars, positions, horizon, pred, costs, out["baseline_kind"], realised))
    out["calibration"] = calibration_table(pred.confidence[calls], call_hits)
    in_band = (realised > -pred.stop_dist) & (realised < pred.target_dist)
    out["confidence_calibration"] = fit_calibration(
        pred.direction[has_future],
        pred.confidence[has_future],
        ((pred.direction > 0) == (realised > 0))[has_future],
        in_band[has_future],
    )
    effective = np.zeros(len(hits), dtype=bool)
    effective[effective_index(positions[known], horizon)] = True
    return Reality(positions[known], hits, base, effective, trades, out)


def _baseline_trading(
    bars: pd.DataFrame,
    positions: np.ndarray,
    horizon: int,
    pred: Predictions,
    costs: TradingCosts,
    kind: str,
    realised: np.ndarray,
) -> dict[str, Any]:
    """The naive baseline traded by the same rules: its direction at every bar, the model's own
    target and stop distances, the same exits and costs. Trade hit rates depend on those
    distances (a 2:1 target/stop wins about a third of random entries), so live trade outcomes
    are judged against this, not against a directional accuracy."""
    close = bars["close"].to_numpy(dtype="float64")
    known = np.isfinite(realised) & (realised != 0)
    if kind == "majority":
        up = int(np.sum(realised[known] > 0)) * 2 >= int(known.sum())
        direction = np.full(len(positions), 1 if up else -1, dtype=np.int64)
    else:
        direction = np.where(close[positions] >= close[np.maximum(positions - 1, 0)], 1, -1).astype(np.int64)
    target, stop = price_levels(direction, close[positions], pred.target_dist, pred.stop_dist)
    trades = follow_signals(bars, positions, direction, target, stop, horizon, costs)
    return {
        "baseline_pnl": finite(trades.pnl),
        "baseline_trades": trades.trades,
        **share("baseline_hit_rate", trades.returns > 0),
    }


def _trading(trades: Backtest, costs: TradingCosts) -> dict[str, Any]:
    wins = trades.returns > 0
    return {
        "pnl": finite(trades.pnl),
        "trades": trades.trades,
        **share("hit_rate", wins),
        "avg_trade_return": finite(float(trades.returns.mean())) if trades.trades else None,
        "max_drawdown": finite(trades.max_drawdown),
        "equity_curve": trades.equity_curve,
        "gap_fills": trades.gap_fills,
        "fees_paid": finite(trades.fees),
        "costs": costs.as_json(),
    }
