"""THE leakage test: on a pure random walk nothing can be predicted, so any held-out directional
accuracy clearly above 50 % means the pipeline saw the future.

The main test runs the production path end to end (bars and a hindsight label set in the
database, `train`, metrics read from the registered versions). The side test proves the check has
teeth: the same evaluation with one deliberately leaky feature (next bar's return, an off-by-one
any indicator could make) scores far above the band.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from core.bots import BOTS
from core.bots.dataset import build_dataset, feature_frame
from core.bots.factory import make_bot
from core.context import Context
from core.db.database import forget_database
from core.evaluation.walkforward import fit_and_evaluate, plan_split
from core.features.indicators import FEATURE_COLUMNS
from core.training.service import train_pair as train
from tests.bots.helpers import SMALL, hindsight_frame, random_walk, store_bars, store_hindsight_set
from tests.conftest import make_settings

SEEDS = (101, 102, 103, 104)
BARS = 5000
HORIZON = 5
LABELS = 1500
FOLDS = 3  # fewer folds than the default keep 16 trainings on 5,000 bars cheap; the rule is the same
BAND = 0.04  # 0.50 ± 0.04


@pytest.fixture
def rw_ctx(home):
    ctx = Context.create(make_settings(home, walkforward_folds=FOLDS), logs=False)
    yield ctx
    forget_database(ctx.settings.db_url)


@pytest.mark.slow
def test_random_walk_gives_no_bot_an_edge(rw_ctx):
    accuracy: dict[str, list[float]] = {name: [] for name in BOTS.names()}
    for seed in SEEDS:
        symbol = f"RW{seed}"
        store_bars(rw_ctx, symbol, "1d", random_walk(BARS, seed))
        # 1,500 labels keep the fits cheap; reality is judged on every out-of-sample bar anyway.
        label_set_id = store_hindsight_set(rw_ctx, symbol, "1d", horizon=HORIZON, samples=LABELS, seed=seed)
        result = train(
            rw_ctx, symbol, "1d", bots=list(BOTS.names()), label_set_id=label_set_id, bot_params=SMALL
        )
        assert result.failed == []
        for version in result.versions:
            assert version.metrics["directional_accuracy_n"] > 3000
            accuracy[version.bot].append(version.metrics["directional_accuracy"])
    means = {name: float(np.mean(values)) for name, values in accuracy.items()}
    print("random-walk directional accuracy by bot:", accuracy, "means:", means)
    for name, mean in means.items():
        assert abs(mean - 0.5) <= BAND, f"{name} scores {mean:.3f} on a random walk: the pipeline leaks"


@pytest.mark.slow
def test_a_leaky_feature_is_caught(settings):
    """One bar of the future in one feature pushes every bot far outside the band."""
    bars = random_walk(BARS, SEEDS[0])
    features = feature_frame(bars)
    log_close = np.log(bars["close"])
    features["next_return"] = log_close.shift(-1) - log_close  # the bug: reads bar p+1 at bar p
    dataset = build_dataset(
        bars,
        hindsight_frame(bars, horizon=HORIZON),
        features=features,
        feature_names=(*FEATURE_COLUMNS, "next_return"),
    )
    plan = plan_split(dataset, FOLDS, horizon=1)  # judged on the very bar the leak reveals
    scores = {}
    for name in BOTS.names():
        make = functools.partial(make_bot, name, settings, **SMALL[name])
        evaluation = fit_and_evaluate(make, dataset, bars, plan, final=False)
        scores[name] = evaluation.metrics["directional_accuracy"]
    print("directional accuracy with a one-bar leak:", scores)
    assert all(score > 0.5 + BAND + 0.03 for score in scores.values()), scores
