"""Fit a bot on the past and judge it on the newest points it never saw.

The held-out period is the newest `test_fraction` of the labeled points; training points whose
labels reach into it are purged, with an embargo of the label horizon on top (see `splits`).
Early stopping uses a second, inner chronological split of the training points, purged the same
way, so the held-out period shapes nothing about the model. The version registered is the model
evaluated here: what the metrics describe is what runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.bots.base import Bot
from core.bots.dataset import Dataset
from core.errors import BadInput
from core.evaluation.metrics import label_fit, reality
from core.evaluation.splits import ChronoSplit, chrono_split

MIN_TRAIN_POINTS = 20
MIN_TEST_POINTS = 5
# Below this many training points an inner validation split leaves too little on either side.
MIN_POINTS_FOR_EARLY_STOP = 80
INNER_FRACTION = 0.2


@dataclass
class Evaluation:
    bot: Bot
    metrics: dict[str, Any]
    split: ChronoSplit
    fit_s: float


def plan_split(dataset: Dataset, test_fraction: float) -> ChronoSplit:
    """The walk-forward split, refusing one that leaves too little to train or to judge."""
    split = chrono_split(
        dataset.inputs.positions,
        dataset.targets.horizon,
        test_fraction=test_fraction,
        min_test=MIN_TEST_POINTS,
    )
    train = dataset.take(split.train)
    counts = train.class_counts()
    if len(split.train) < MIN_TRAIN_POINTS or len(split.test) < MIN_TEST_POINTS:
        raise BadInput(
            f"{len(dataset)} labels leave {len(split.train)} training and {len(split.test)} held-out points "
            f"after purging {split.purged} whose labels overlap the held-out period; need at least "
            f"{MIN_TRAIN_POINTS} and {MIN_TEST_POINTS}: label more points"
        )
    if sum(1 for v in counts.values() if v) < 2:
        summary = ", ".join(f"{k} {v}" for k, v in counts.items())
        raise BadInput(f"the training period holds only one class ({summary}); label a more varied window")
    return split


def _inner(train: Dataset) -> tuple[Dataset, Dataset | None]:
    if len(train) < MIN_POINTS_FOR_EARLY_STOP:
        return train, None
    inner = chrono_split(train.inputs.positions, train.targets.horizon, test_fraction=INNER_FRACTION)
    if len(inner.train) < MIN_TRAIN_POINTS:
        return train, None
    return train.take(inner.train), train.take(inner.test)


def fit_and_evaluate(bot: Bot, dataset: Dataset, bars: pd.DataFrame, *, test_fraction: float) -> Evaluation:
    """Train `bot` on the training part of the walk-forward split and measure it on the held-out part."""
    split = plan_split(dataset, test_fraction)
    train, test = dataset.take(split.train), dataset.take(split.test)
    fit_part, valid_part = _inner(train)
    started = time.perf_counter()
    bot.fit(fit_part, valid_part)
    fit_s = time.perf_counter() - started
    return Evaluation(bot, evaluate(bot, fit_part, test, bars, split), split, fit_s)


def evaluate(
    bot: Bot, fitted_on: Dataset, test: Dataset, bars: pd.DataFrame, split: ChronoSplit
) -> dict[str, Any]:
    test_pred = bot.predict(test.inputs)
    metrics: dict[str, Any] = label_fit(
        bot.predict(fitted_on.inputs), fitted_on.targets, test_pred, test.targets
    )
    metrics.update(reality(bars, test.inputs, test.targets.horizon, test_pred))
    times = test.inputs.times
    metrics.update(
        {
            **split.as_json(),
            "fitted_points": len(fitted_on),
            "heldout_start": times[0].isoformat() if len(times) else None,
            "heldout_end": times[-1].isoformat() if len(times) else None,
            "trained_through": fitted_on.inputs.times[-1].isoformat() if len(fitted_on) else None,
            "label_class_counts": fitted_on.class_counts(),
            "recommendation_counts": {
                name: int(np.sum(test_pred.recommendation == name)) for name in ("BUY", "SELL", "HOLD")
            },
            "feature_importance": bot.feature_importance(),
        }
    )
    return metrics
