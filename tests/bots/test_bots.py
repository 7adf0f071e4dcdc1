"""The four bots: one interface, causal inputs, label-shaped signals, artifacts that round-trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.bots import BOTS
from core.bots.dataset import build_dataset, build_inputs, check_trainable
from core.bots.factory import bot_class, load_bot, make_bot
from core.bots.signal import signal_frame
from core.errors import ArtifactError, BadInput
from core.labeling.schema import LabelReply, check_label
from core.requests import TrainingRequest, parse
from tests.bots.helpers import SMALL, hindsight_frame, random_walk


@pytest.fixture(scope="module")
def walk() -> tuple[pd.DataFrame, pd.DataFrame]:
    bars = random_walk(900, 11)
    return bars, hindsight_frame(bars, horizon=5)


@pytest.fixture(scope="module")
def fitted(walk) -> dict:
    bars, labels = walk
    dataset = build_dataset(bars, labels)
    train = dataset.take(np.arange(len(dataset) - 150))
    valid = dataset.take(np.arange(len(dataset) - 150, len(dataset) - 50))
    return {name: bot_class(name)(seed=1, **SMALL[name]).fit(train, valid) for name in BOTS.names()}


def test_dataset_from_a_label_like_frame(walk):
    bars, labels = walk
    frame = labels.head(40).copy()
    frame.loc[frame.index[0], "recommendation"] = "MAYBE"  # unusable
    frame = pd.concat(
        [frame, frame.iloc[[1]].set_index(frame.index[[1]] + pd.Timedelta(hours=3))]
    )  # not a bar
    frame["horizon_bars"] = frame["horizon_bars"].astype("float64")
    frame.loc[frame.index[2], "horizon_bars"] = np.nan  # falls back to the default horizon
    dataset = build_dataset(bars, frame, default_horizon=7)
    assert len(dataset) == 39 and dataset.dropped == {"invalid": 1, "not_a_bar": 1}
    t = dataset.targets
    row = labels.iloc[1]
    assert t.horizon[0] == 5 and t.horizon[1] == 7
    assert np.exp(t.log_target_dist[0]) == pytest.approx(abs(row.target / row.current_price - 1))
    sign = {"BUY": 1, "SELL": -1, "HOLD": 0}[row.recommendation]
    expected = sign * (
        row.confidence * abs(row.target / row.current_price - 1)
        - (1 - row.confidence) * abs(row.stop_loss / row.current_price - 1)
    )
    assert t.expected_return[0] == pytest.approx(expected)
    assert dataset.inputs.times[0] == labels.index[1]
    np.testing.assert_array_equal(dataset.inputs.prices, bars["close"].to_numpy()[dataset.inputs.positions])


def test_too_small_or_one_class_label_sets_are_refused(walk):
    bars, labels = walk
    with pytest.raises(BadInput, match=r"has 12 usable labels \(SELL \d+, HOLD \d+, BUY \d+\).*at least 30"):
        check_trainable(build_dataset(bars, labels.head(12)), min_points=30)
    buys = labels[labels["recommendation"] == "BUY"].head(40)
    with pytest.raises(BadInput, match=r"only one class \(SELL 0, HOLD 0, BUY 40\)"):
        check_trainable(build_dataset(bars, buys), min_points=30)


def test_bot_names_and_parameters_are_checked(settings):
    def bots(value: object) -> tuple[str, ...]:
        return parse(TrainingRequest, symbol="EURUSD", timeframe="1h", label_set_id=1, bots=value).bots

    assert bots("lstm_bot, xgb_agent,lstm_bot") == ("lstm_bot", "xgb_agent")
    assert bots(["xgb_agent", " ", "ensemble_bot"]) == ("xgb_agent", "ensemble_bot")
    with pytest.raises(BadInput, match="unknown bot 'svm'"):
        bots("xgb_agent,svm")
    with pytest.raises(BadInput, match="no bots given"):
        bots(" , ")
    with pytest.raises(BadInput, match="no parameter"):
        make_bot("xgb_agent", settings, depth=3)
    assert make_bot("xgb_agent", settings).signal_threshold == settings.signal_threshold


@pytest.mark.parametrize("name", BOTS.names())
def test_predictions_use_only_bars_up_to_the_point(walk, fitted, name):
    """Cutting off every bar after p must not change the call at p: inputs are causal."""
    bars, _ = walk
    bot = fitted[name]
    points = np.array([120, 400, 650, 899])
    full = bot.predict(build_inputs(bars, points))
    for i, p in enumerate(points):
        cut = bot.predict(build_inputs(bars.iloc[: p + 1], np.array([p])))
        assert cut.direction[0] == full.direction[i]
        assert cut.expected_return[0] == pytest.approx(full.expected_return[i], rel=1e-6, abs=1e-9)
        assert cut.confidence[0] == pytest.approx(full.confidence[i], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", BOTS.names())
def test_signals_are_shaped_like_valid_labels(walk, fitted, name):
    bars, _ = walk
    inputs = build_inputs(bars, np.arange(100, 900))
    frame = signal_frame(fitted[name].predict(inputs), inputs)
    assert frame["confidence"].between(0, 1).all() and np.isfinite(frame["predicted_return"]).all()
    assert set(frame["recommendation"]) <= {"BUY", "SELL", "HOLD"}
    for row in frame.itertuples():
        reply = LabelReply(
            target=float(row.target),
            stop_loss=float(row.stop_loss),
            confidence=float(row.confidence),
            recommendation=row.recommendation,
            bias=row.bias,
        )
        assert check_label(reply, float(row.current_price)) is None


@pytest.mark.parametrize("name", BOTS.names())
def test_artifact_files_round_trip_without_pickles(walk, fitted, settings, name):
    bars, _ = walk
    bot = fitted[name]
    files = bot.to_files()
    assert "meta.json" in files and not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in files)
    again = load_bot(files, settings)
    inputs = build_inputs(bars, np.arange(200, 900))
    a, b = bot.predict(inputs), again.predict(inputs)
    np.testing.assert_array_equal(a.direction, b.direction)
    np.testing.assert_allclose(a.expected_return, b.expected_return, rtol=1e-6, atol=1e-9)
    assert again.feature_importance() == pytest.approx(bot.feature_importance())
    assert sum(bot.feature_importance().values()) == pytest.approx(1.0, abs=1e-4)
    other = next(n for n in BOTS.names() if n != name)
    with pytest.raises(ArtifactError, match=f"not a {other}"):
        bot_class(other).from_files(files)


def test_unknown_artifact_content_is_refused(settings):
    meta = {"bot": "xgb_agent", "format": 99}
    with pytest.raises(ArtifactError, match="unknown format"):
        load_bot({"meta.json": json.dumps(meta).encode()}, settings)
    with pytest.raises(ArtifactError, match=r"no meta\.json"):
        load_bot({"booster.ubj": b"x"}, settings)
