"""Model inputs and training targets, built from ANY label-like frame plus the bars.

A label-like frame is indexed by bar time and carries `current_price, target, stop_loss,
confidence, recommendation, horizon_bars` (what `core.labeling.store.load_labels` returns; the
continuous-learning retrain builds the same shape from paper-trade outcomes). Nothing here knows
who made the labels.

Leakage rules kept here: a point's inputs are the causal feature rows of its own bar and the bars
before it (`compute_features` is trailing-only); the label is used only as a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from core.errors import BadInput
from core.features.indicators import FEATURE_COLUMNS, compute_features

DIRECTIONS: tuple[str, ...] = ("SELL", "HOLD", "BUY")  # class index; sign = index - 1
LABEL_FRAME_COLUMNS = ("current_price", "target", "stop_loss", "confidence", "recommendation")
# Target and stop distances are learned in log space; this floor keeps log() finite.
MIN_DISTANCE = 1e-4
MAX_DISTANCE = 0.5
REGRESSION_TARGETS: tuple[str, ...] = ("expected_return", "log_target_dist", "log_stop_dist", "confidence")


@dataclass(frozen=True)
class Inputs:
    """What a bot sees: the causal feature matrix of every bar and the points to predict at."""

    bar_times: pd.DatetimeIndex
    features: np.ndarray  # (n_bars, n_features) float32; NaN during indicator warm-up
    feature_names: tuple[str, ...]
    positions: np.ndarray  # int64 positions of the points in the bars
    prices: np.ndarray  # close of each point's bar (the entry price of a signal)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def times(self) -> pd.DatetimeIndex:
        return self.bar_times[self.positions]

    def rows(self) -> np.ndarray:
        """The feature row of each point's own bar: the input of tabular bots."""
        return self.features[self.positions]

    def take(self, idx: np.ndarray) -> Inputs:
        return replace(self, positions=self.positions[idx], prices=self.prices[idx])


@dataclass(frozen=True)
class Targets:
    """What a label says about its point, as numbers a model can learn."""

    direction: np.ndarray  # int64 class index into DIRECTIONS
    expected_return: np.ndarray
    log_target_dist: np.ndarray
    log_stop_dist: np.ndarray
    confidence: np.ndarray
    horizon: np.ndarray  # int64 bars the label speaks about

    def take(self, idx: np.ndarray) -> Targets:
        return Targets(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    def matrix(self) -> np.ndarray:
        """The regression targets in REGRESSION_TARGETS order, shape (n, 4)."""
        return np.column_stack([getattr(self, name) for name in REGRESSION_TARGETS]).astype("float64")


@dataclass(frozen=True)
class Dataset:
    inputs: Inputs
    targets: Targets
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, idx: np.ndarray) -> Dataset:
        idx = np.asarray(idx, dtype=np.int64)
        return Dataset(self.inputs.take(idx), self.targets.take(idx), self.dropped)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.targets.direction, minlength=3)
        return {name: int(c) for name, c in zip(DIRECTIONS, counts, strict=True)}


def feature_frame(bars: pd.DataFrame, feature_names: tuple[str, ...] = FEATURE_COLUMNS) -> pd.DataFrame:
    """The causal model inputs of every bar."""
    return compute_features(bars)[list(feature_names)]


def build_inputs(
    bars: pd.DataFrame,
    positions: np.ndarray,
    *,
    features: pd.DataFrame | None = None,
    feature_names: tuple[str, ...] = FEATURE_COLUMNS,
) -> Inputs:
    """Inputs for prediction at `positions` of `bars` (features computed once for all of them)."""
    frame = features if features is not None else feature_frame(bars, feature_names)
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        raise BadInput(f"feature frame lacks column(s) {', '.join(missing)}")
    if len(frame) != len(bars):
        raise ValueError("features must be aligned with the bars, one row per bar")
    positions = np.asarray(positions, dtype=np.int64)
    close = bars["close"].to_numpy(dtype="float64")
    return Inputs(
        bar_times=pd.DatetimeIndex(bars.index),
        features=frame[list(feature_names)].to_numpy(dtype="float32"),
        feature_names=tuple(feature_names),
        positions=positions,
        prices=close[positions],
    )


def expected_return(
    direction: np.ndarray, target_dist: np.ndarray, stop_dist: np.ndarray, conf: np.ndarray
) -> np.ndarray:
    """The label's own expected return: target with probability `confidence`, else the stop.

    Signed by the recommendation (a SELL gains when the price falls); HOLD expects nothing.
    """
    sign = direction.astype("float64") - 1.0
    return sign * (conf * target_dist - (1.0 - conf) * stop_dist)


def label_targets(labels: pd.DataFrame, default_horizon: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Validate a label-like frame and derive numeric targets; rows that cannot be used are counted."""
    missing = [c for c in LABEL_FRAME_COLUMNS if c not in labels.columns]
    if missing:
        raise BadInput(f"label frame lacks column(s) {', '.join(missing)}")
    frame = labels.copy()
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True), name="ts")
    frame = frame[~frame.index.duplicated(keep="first")].sort_index()
    dropped: dict[str, int] = {}
    rec = frame["recommendation"].astype("string").str.upper().str.strip()
    direction = rec.map({name: i for i, name in enumerate(DIRECTIONS)})
    numbers = {c: pd.to_numeric(frame[c], errors="coerce") for c in ("current_price", "target", "stop_loss")}
    conf = pd.to_numeric(frame["confidence"], errors="coerce")
    ok = direction.notna() & conf.between(0.0, 1.0)
    for series in numbers.values():
        ok &= series.gt(0) & np.isfinite(series.astype("float64"))
    dropped["invalid"] = int((~ok).sum())
    frame, direction, conf = frame[ok], direction[ok].astype("int64"), conf[ok].astype("float64")
    price = numbers["current_price"][ok].astype("float64")
    target_dist = ((numbers["target"][ok] / price - 1.0).abs()).clip(MIN_DISTANCE, MAX_DISTANCE)
    stop_dist = ((numbers["stop_loss"][ok] / price - 1.0).abs()).clip(MIN_DISTANCE, MAX_DISTANCE)
    if "horizon_bars" in frame:
        raw = pd.to_numeric(frame["horizon_bars"], errors="coerce").astype("float64")
        horizon = raw.fillna(default_horizon).clip(lower=1).astype("int64")
    else:
        horizon = pd.Series(default_horizon, index=frame.index, dtype="int64")
    out = pd.DataFrame(
        {
            "direction": direction.to_numpy(),
            "target_dist": target_dist.to_numpy(),
            "stop_dist": stop_dist.to_numpy(),
            "confidence": conf.to_numpy(),
            "horizon": horizon.to_numpy(),
        },
        index=frame.index,
    )
    return out, dropped


def build_dataset(
    bars: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    default_horizon: int = 10,
    features: pd.DataFrame | None = None,
    feature_names: tuple[str, ...] = FEATURE_COLUMNS,
) -> Dataset:
    """Join labels to their bars; a label whose time is not a stored bar is dropped and counted.

    `features` may be passed precomputed (aligned with `bars`); otherwise they are computed here.
    """
    if bars.empty:
        raise BadInput("no bars to train on")
    targets, dropped = label_targets(labels, default_horizon)
    positions = pd.DatetimeIndex(bars.index).get_indexer(targets.index)
    found = positions >= 0
    dropped["not_a_bar"] = int((~found).sum())
    targets, positions = targets[found], positions[found]
    direction = targets["direction"].to_numpy(dtype="int64")
    t_dist = targets["target_dist"].to_numpy(dtype="float64")
    s_dist = targets["stop_dist"].to_numpy(dtype="float64")
    conf = targets["confidence"].to_numpy(dtype="float64")
    inputs = build_inputs(bars, positions, features=features, feature_names=feature_names)
    return Dataset(
        inputs,
        Targets(
            direction=direction,
            expected_return=expected_return(direction, t_dist, s_dist, conf),
            log_target_dist=np.log(t_dist),
            log_stop_dist=np.log(s_dist),
            confidence=conf,
            horizon=targets["horizon"].to_numpy(dtype="int64"),
        ),
        dropped,
    )


def check_trainable(dataset: Dataset, *, min_points: int, what: str = "the label set") -> None:
    """Refuse data that can only give a meaningless model, saying what is there."""
    counts = dataset.class_counts()
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    dropped = {k: v for k, v in dataset.dropped.items() if v}
    extra = f"; dropped {dropped}" if dropped else ""
    if len(dataset) < min_points:
        raise BadInput(
            f"{what} has {len(dataset)} usable labels ({summary}{extra}); training needs at least "
            f"{min_points}: label more points (--samples) or a longer window (--lookback-days)"
        )
    if sum(1 for v in counts.values() if v > 0) < 2:
        raise BadInput(
            f"{what} has only one class ({summary}); a model needs at least two of BUY/SELL/HOLD to learn "
            "anything: label a longer or more varied window"
        )
