"""Signals from the active models: newest bar, vectorised batches, the model cache, broken artifacts."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.data import store as bar_store
from core.registry.activation import activate
from core.registry.predict import MODEL_CACHE, batch_signals, latest_signals
from core.registry.versions import active_version, get_version
from core.settings import Settings
from core.training.service import train_pair as train
from tests.bots.helpers import SMALL, random_walk, store_bars, store_hindsight_set
from tests.conftest import make_settings

# Trains real models; the behaviour depends on the database.
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite", "postgresql")]


@pytest.fixture
def settings(home: Path) -> Settings:
    """Two walk-forward folds: signals come from the final models, which the folds do not change."""
    return make_settings(home, walkforward_folds=2)


@pytest.fixture
def trained(ctx):
    store_bars(ctx, "RW", "1h", random_walk(1200, 8, freq="h"))
    label_set_id = store_hindsight_set(ctx, "RW", "1h", horizon=5, samples=500)
    result = train(
        ctx,
        "RW",
        "1h",
        bots="xgb_agent,lstm_bot",
        label_set_id=label_set_id,
        bot_params=SMALL,
        activate="always",
    )
    return ctx, label_set_id, {v.bot: v.version_id for v in result.versions}


def test_latest_and_batch_signals_agree(trained):
    ctx, _, versions = trained
    latest = latest_signals(ctx, "rw", "1h")
    assert set(latest) == {"xgb_agent", "lstm_bot"}
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, "RW", "1h")
    batch = batch_signals(ctx, "RW", "1h", bars)
    for name, signal in latest.items():
        assert signal.version_id == versions[name] and signal.as_of == bars.index[-1]
        frame = batch[name]
        assert len(frame) == len(bars) and (frame["version_id"] == versions[name]).all()
        last = frame.iloc[-1]
        assert last["recommendation"] == signal.recommendation
        assert last["predicted_return"] == pytest.approx(signal.predicted_return, rel=1e-5, abs=1e-9)
        assert signal.as_json()["bias"] in {"bullish", "bearish", "neutral"}
    some = batch_signals(ctx, "RW", "1h", bars, positions=np.array([300, 301]), bots=["lstm_bot"])
    assert list(some) == ["lstm_bot"] and len(some["lstm_bot"]) == 2


def test_models_are_cached_until_the_active_version_changes(trained):
    ctx, label_set_id, versions = trained
    first = MODEL_CACHE.get(ctx, active_version(ctx.db, "RW", "1h", "xgb_agent"))
    results: list[object] = []

    def load() -> None:
        results.append(MODEL_CACHE.get(ctx, active_version(ctx.db, "RW", "1h", "xgb_agent")))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is first for r in results)  # loaded once, shared by every thread
    newer = train(
        ctx,
        "RW",
        "1h",
        bots="xgb_agent",
        label_set_id=label_set_id,
        bot_params=SMALL,
        activate="always",
        seed=9,
    ).versions[0]
    assert latest_signals(ctx, "RW", "1h", bots=["xgb_agent"])["xgb_agent"].version_id == newer.version_id
    assert MODEL_CACHE.get(ctx, active_version(ctx.db, "RW", "1h", "xgb_agent")) is not first
    activate(ctx, versions["xgb_agent"], actor="test")
    assert (
        latest_signals(ctx, "RW", "1h", bots=["xgb_agent"])["xgb_agent"].version_id == versions["xgb_agent"]
    )


def test_a_tampered_active_model_is_skipped_and_marked_broken(trained):
    ctx, _, versions = trained
    MODEL_CACHE.clear()
    lstm = get_version(ctx.db, versions["lstm_bot"])
    weights = ctx.settings.models_dir / lstm.artifact_path / "weights.pt"
    weights.write_bytes(weights.read_bytes()[:-10])
    signals = latest_signals(ctx, "RW", "1h")
    assert set(signals) == {"xgb_agent"}
    assert get_version(ctx.db, lstm.version_id).status == "broken"
