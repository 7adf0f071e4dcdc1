"""Fit a bot fold by fold on the past, judge it on every later bar it never saw, then fit the
version's model on all labels.

Out of sample: each fold's model learns from the labels whose horizon ends before its period
(see `folds`) and predicts every bar of that period from the bar's own features, so reality is
judged on hundreds of bars even when there are only 50 labels. Early stopping uses an inner
chronological split of each training set, purged the same way, so the evaluated bars shape
nothing about the model that predicts them. Bots that are slow to fit (the sequence bots) may
declare `walkforward_refits`: their consecutive folds are then served by fewer models, each
fitted on the first fold's training set of its group (staler, still honest, same bars judged).

The version: the registered model is then fitted on ALL labels (its newest 20 % early-stop it
when there are enough), because that is the model that will trade next; its numbers are the
walk-forward ones, i.e. how this way of training a bot has fared, fold after fold, on this pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.bots.base import Bot, Predictions
from core.bots.dataset import Dataset, Inputs
from core.errors import BadInput
from core.evaluation.costs import NO_COSTS, TradingCosts
from core.evaluation.folds import MIN_TRAIN_POINTS, WalkForwardPlan, walk_forward
from core.evaluation.metrics import Reality, reality, train_fit, validation_fit
from core.evaluation.splits import chrono_split

# Below this many training points an inner validation split leaves too little on either side.
MIN_POINTS_FOR_EARLY_STOP = 80
INNER_FRACTION = 0.2
DEFAULT_FOLDS = 5

BotMaker = Callable[[], Bot]


def plan_split(
    dataset: Dataset,
    folds: int = DEFAULT_FOLDS,
    *,
    horizon: int,
    start: int | None = None,
) -> WalkForwardPlan:
    """The walk-forward folds, refusing a plan whose first fold has too little to learn from."""
    plan = walk_forward(
        dataset.inputs.positions,
        dataset.targets.horizon,
        n_bars=len(dataset.inputs.bar_times),
        folds=folds,
        horizon=horizon,
        start=start,
    )
    first = dataset.take(plan.folds[0].train)
    if len(first) < MIN_TRAIN_POINTS:
        raise BadInput(
            f"{len(dataset)} labels leave only {len(first)} clean training labels before the first "
            f"evaluated period; need at least {MIN_TRAIN_POINTS}: label more (or earlier) points"
        )
    counts = first.class_counts()
    if sum(1 for v in counts.values() if v) < 2:
        summary = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise BadInput(
            f"the first fold's training labels hold only one class ({summary}); label a more varied window"
        )
    return plan


@dataclass(frozen=True)
class OutOfSample:
    """The folds' predictions on every evaluated bar, in time order."""

    positions: np.ndarray
    predictions: Predictions
    fold: np.ndarray  # fold index of each bar
    label_index: np.ndarray  # dataset indices of the labeled points inside the evaluated span
    label_rows: np.ndarray  # their rows in `positions`
    fits: int
    fit_s: float

    @property
    def label_predictions(self) -> Predictions:
        return self.predictions.take(self.label_rows)


@dataclass
class Evaluation:
    bot: Bot | None  # the version's model, fitted on all labels (None when only evaluated)
    metrics: dict[str, Any]
    plan: WalkForwardPlan
    fit_s: float
    oos: OutOfSample
    reality: Reality


def bar_inputs(inputs: Inputs, bars: pd.DataFrame, positions: np.ndarray) -> Inputs:
    """Inputs at arbitrary bars of the same series (the feature matrix covers every bar)."""
    positions = np.asarray(positions, dtype=np.int64)
    prices = bars["close"].to_numpy(dtype="float64")[positions]
    return replace(inputs, positions=positions, prices=prices)


def _inner(train: Dataset) -> tuple[Dataset, Dataset | None]:
    if len(train) < MIN_POINTS_FOR_EARLY_STOP:
        return train, None
    inner = chrono_split(train.inputs.positions, train.targets.horizon, test_fraction=INNER_FRACTION)
    if len(inner.train) < MIN_TRAIN_POINTS:
        return train, None
    return train.take(inner.train), train.take(inner.test)


def fit_on(make_bot: BotMaker, train: Dataset) -> tuple[Bot, Dataset]:
    """A fresh bot fitted on `train` (early-stopped on its newest part); returns it and what it fit."""
    fit_part, valid_part = _inner(train)
    return make_bot().fit(fit_part, valid_part), fit_part


def _concat(parts: list[Predictions]) -> Predictions:
    fields = Predictions.__dataclass_fields__
    return Predictions(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def out_of_sample(
    make_bot: BotMaker, dataset: Dataset, bars: pd.DataFrame, plan: WalkForwardPlan
) -> OutOfSample:
    """Predictions of each fold's model on every bar of its period."""
    refits = make_bot().walkforward_refits
    started = time.perf_counter()
    parts, fold_of = [], []
    groups = plan.groups(refits)
    for group in groups:
        model, _ = fit_on(make_bot, dataset.take(group.train))
        for fold in group.folds:
            parts.append(model.predict(bar_inputs(dataset.inputs, bars, np.arange(fold.start, fold.stop))))
            fold_of.append(np.full(fold.stop - fold.start, fold.index))
    positions = plan.evaluated_positions()
    inside = (dataset.inputs.positions >= plan.start) & (dataset.inputs.positions < plan.stop)
    label_index = np.flatnonzero(inside)
    return OutOfSample(
        positions=positions,
        predictions=_concat(parts),
        fold=np.concatenate(fold_of),
        label_index=label_index,
        label_rows=dataset.inputs.positions[label_index] - plan.start,
        fits=len(groups),
        fit_s=time.perf_counter() - started,
    )


def _fold_summaries(oos: OutOfSample, score: Reality, plan: WalkForwardPlan) -> list[dict[str, Any]]:
    fold_of_known = oos.fold[score.positions - plan.start]
    out = []
    for fold in plan.folds:
        mine = fold_of_known == fold.index
        n = int(mine.sum())
        out.append(
            {
                "fold": fold.index,
                "start": fold.start,
                "stop": fold.stop,
                "train_points": len(fold.train),
                "bars": n,
                "directional_accuracy": round(float(score.hits[mine].mean()), 4) if n else None,
                "baseline_directional_accuracy": round(float(score.baseline[mine].mean()), 4) if n else None,
            }
        )
    return out


def score_out_of_sample(
    dataset: Dataset, bars: pd.DataFrame, plan: WalkForwardPlan, oos: OutOfSample, costs: TradingCosts
) -> tuple[Reality, dict[str, Any]]:
    """The reality metrics of the folds' predictions, with the plan and its periods."""
    score = reality(bars, oos.positions, plan.horizon, oos.predictions, costs)
    times = pd.DatetimeIndex(bars.index)
    metrics = dict(score.metrics)
    metrics.update(
        {
            **plan.as_json(),
            "test_points": len(oos.label_index),
            "heldout_start": times[plan.start].isoformat(),
            "heldout_end": times[plan.stop - 1].isoformat(),
            "evaluated_share": round((plan.stop - plan.start) / max(len(times), 1), 4),
            "walkforward_fits": oos.fits,
            "fold_results": _fold_summaries(oos, score, plan),
            "recommendation_counts": {
                name: int(np.sum(oos.predictions.recommendation == name)) for name in ("BUY", "SELL", "HOLD")
            },
        }
    )
    return score, metrics


def fit_and_evaluate(
    make_bot: BotMaker,
    dataset: Dataset,
    bars: pd.DataFrame,
    plan: WalkForwardPlan,
    *,
    costs: TradingCosts = NO_COSTS,
    final: bool = True,
) -> Evaluation:
    """Walk-forward out-of-sample metrics, and (with `final`) the version's model on all labels."""
    oos = out_of_sample(make_bot, dataset, bars, plan)
    score, metrics = score_out_of_sample(dataset, bars, plan, oos, costs)
    metrics.update(validation_fit(oos.label_predictions, dataset.targets.take(oos.label_index)))
    bot, fit_s = None, oos.fit_s
    if final:
        started = time.perf_counter()
        bot, fitted = fit_on(make_bot, dataset)
        fit_s += time.perf_counter() - started
        metrics.update(train_fit(bot.predict(fitted.inputs), fitted.targets))
        metrics.update(
            fitted_points=len(fitted),
            trained_through=dataset.inputs.times[-1].isoformat(),
            label_class_counts=dataset.class_counts(),
            feature_importance=bot.feature_importance(),
        )
    return Evaluation(bot, metrics, plan, fit_s, oos, score)
