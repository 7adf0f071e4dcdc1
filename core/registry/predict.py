"""Signals from the active models: the newest bar for the chart page, many bars at once for replays.

Models are loaded once (SHA-256 checked) and cached per (database, slot, version id, sha) until
the active version changes; loading is serialised per key so two threads never load the same
model twice. Predictions for many bars are one vectorised pass per bot, not a loop over bars.
Each signal's `confidence` is calibrated with the version's stored out-of-sample map
(`core.evaluation.calibration`); the model's own number travels as `raw_confidence`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.bots.base import Bot
from core.bots.dataset import build_inputs
from core.bots.signal import Signal, signal_frame, signal_from_row
from core.context import Context
from core.data import store as bar_store
from core.errors import ArtifactError
from core.evaluation.calibration import calibrate
from core.features.indicators import compute_features
from core.registry.loading import load_version, verified_files
from core.registry.versions import VersionView, active_versions
from core.registry.walkforward_calls import CALLS_FILE, decode_calls
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)

# Bars read for the newest signal: the indicators' warm-up, the longest model window, and slack
# for the recursive averages to match what the model saw in training.
HISTORY_BARS = 400

_Key = tuple[str, str, int, str]


class ModelCache:
    """Thread-safe cache of loaded models; a new active version evicts the old one of its slot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[_Key, Bot] = {}
        self._loading: dict[_Key, threading.Lock] = {}

    def get(self, ctx: Context, version: VersionView) -> Bot:
        key: _Key = (ctx.settings.db_url, version.slot, version.version_id, version.artifact_sha256 or "")
        with self._lock:
            bot = self._models.get(key)
            if bot is not None:
                return bot
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                bot = self._models.get(key)
            if bot is not None:
                return bot
            bot = load_version(ctx, version)
            with self._lock:
                for old in [k for k in self._models if k[:2] == key[:2]]:
                    del self._models[old]
                self._models[key] = bot
                self._loading.pop(key, None)
            return bot

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._loading.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)


MODEL_CACHE = ModelCache()


@dataclass(frozen=True)
class ActiveModel:
    version: VersionView
    bot: Bot


def active_models(
    ctx: Context, symbol: str, timeframe: str, bots: Iterable[str] | None = None
) -> tuple[dict[str, ActiveModel], dict[str, str]]:
    """Loaded active models by bot, and the bots whose model was refused (with why)."""
    wanted = set(bots) if bots is not None else None
    models: dict[str, ActiveModel] = {}
    errors: dict[str, str] = {}
    for version in active_versions(ctx.db, symbol, timeframe):
        if wanted is not None and version.bot not in wanted:
            continue
        try:
            models[version.bot] = ActiveModel(version, MODEL_CACHE.get(ctx, version))
        except ArtifactError as exc:
            log.warning("no signal from %s for %s %s: %s", version.bot, symbol, timeframe, exc)
            errors[version.bot] = str(exc)
    return models, errors


def batch_signals(
    ctx: Context,
    symbol: str,
    timeframe: str,
    bars: pd.DataFrame,
    *,
    positions: np.ndarray | None = None,
    bots: Iterable[str] | None = None,
    features: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Each active bot's signals at many bar positions (all bars by default), indexed by bar time.

    Pass the bars with their history: a point's inputs are computed from the bars before it.
    Columns: recommendation, current_price, target, stop_loss, confidence, raw_confidence, bias,
    predicted_return, version_id. `confidence` is calibrated on the version's out-of-sample
    outcomes (`raw_confidence` is the model's own number); `features` are
    `compute_features(bars)` when the caller has them already.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    models, _ = active_models(ctx, symbol, tf, bots)
    if not models or bars.empty:
        return {}
    positions = np.arange(len(bars)) if positions is None else np.asarray(positions, dtype=np.int64)
    features = compute_features(bars) if features is None else features
    return {name: model_signals(model, bars, positions, features) for name, model in models.items()}


def model_signals(
    model: ActiveModel, bars: pd.DataFrame, positions: np.ndarray, features: pd.DataFrame
) -> pd.DataFrame:
    """One loaded version's signals at `positions` of `bars` (see `batch_signals` for the columns)."""
    inputs = build_inputs(bars, positions, features=features, feature_names=model.bot.feature_names)
    predictions = model.bot.predict(inputs)
    frame = signal_frame(predictions, inputs)
    frame["raw_confidence"] = frame["confidence"]
    frame["confidence"] = calibrate(
        model.version.metrics.get("confidence_calibration"), predictions.direction, predictions.confidence
    )
    frame["version_id"] = model.version.version_id
    return frame


def load_model(ctx: Context, version: VersionView) -> ActiveModel:
    """Any saved version, loaded (SHA-256 checked) and cached like the active ones."""
    return ActiveModel(version, MODEL_CACHE.get(ctx, version))


def walkforward_signals(ctx: Context, version: VersionView) -> pd.DataFrame | None:
    """The calls the version's walk-forward fold models made on their own out-of-sample bars,
    calibrated like live signals; None for a version trained before they were stored."""
    files = verified_files(ctx, version)
    if CALLS_FILE not in files:
        return None
    frame = decode_calls(files[CALLS_FILE])
    direction = frame["recommendation"].map({"SELL": -1, "HOLD": 0, "BUY": 1}).to_numpy()
    frame["raw_confidence"] = frame["confidence"]
    frame["confidence"] = calibrate(
        version.metrics.get("confidence_calibration"), direction, frame["confidence"].to_numpy()
    )
    frame["version_id"] = version.version_id
    return frame


def latest_signals(
    ctx: Context, symbol: str, timeframe: str, *, bots: Iterable[str] | None = None
) -> dict[str, Signal]:
    """The newest stored bar's signal from every active bot of the pair (bots that fail are skipped)."""
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, symbol, tf, limit=HISTORY_BARS)
    if bars.empty:
        return {}
    frames = batch_signals(ctx, symbol, tf, bars, positions=np.array([len(bars) - 1]), bots=bots)
    return {
        name: signal_from_row(name, frame.index[-1], frame.iloc[-1], int(frame["version_id"].iloc[-1]))
        for name, frame in frames.items()
    }
