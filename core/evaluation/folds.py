"""Walk-forward folds: expanding training windows, purged and embargoed, evaluating most of the window.

The labeled points are time-sorted. The evaluated span starts at the first cut and runs to the
last bar; it is divided into `folds` consecutive periods of equal length in bars. The model of
fold k learns only from labels whose information ends before its period: a label at bar p with
horizon h was made from bars up to p + h, and it is kept only if p + h + embargo <= the fold's
first bar (purge, plus an embargo of one evaluation horizon for slowly-moving features that
straddle the boundary). Each fold's training window expands to everything clean before it.

The first cut leaves the first fold at least `min_train` clean labels and, like scikit-learn's
`TimeSeriesSplit`, at least the first 1/(folds + 1) of them, so fold 1 is not judged on a model
that saw almost nothing. The cuts are bar positions, not label counts: every labeler of an
experiment can be judged on the very same bars (`first_cut` of each, the latest wins).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import BadInput

MIN_TRAIN_POINTS = 20


@dataclass(frozen=True)
class Fold:
    index: int
    start: int  # first evaluated bar
    stop: int  # one past the last evaluated bar
    train: np.ndarray  # indices of labeled points (into the time-sorted dataset) it may fit on
    purged: int  # labels before `start` left out because their horizon (+ embargo) reaches it


@dataclass(frozen=True)
class FoldGroup:
    """Consecutive folds served by one fitted model (the first fold's training set)."""

    folds: tuple[Fold, ...]

    @property
    def train(self) -> np.ndarray:
        return self.folds[0].train

    @property
    def start(self) -> int:
        return self.folds[0].start

    @property
    def stop(self) -> int:
        return self.folds[-1].stop


@dataclass(frozen=True)
class WalkForwardPlan:
    folds: tuple[Fold, ...]
    horizon: int  # bars over which reality is judged
    embargo_bars: int
    n_points: int  # labeled points in the dataset

    @property
    def start(self) -> int:
        return self.folds[0].start

    @property
    def stop(self) -> int:
        return self.folds[-1].stop

    @property
    def cuts(self) -> list[int]:
        return [f.start for f in self.folds] + [self.stop]

    def evaluated_positions(self) -> np.ndarray:
        return np.arange(self.start, self.stop, dtype=np.int64)

    def groups(self, refits: int | None) -> list[FoldGroup]:
        """The folds in at most `refits` consecutive groups (all separate when None)."""
        k = len(self.folds)
        n = k if refits is None else max(1, min(int(refits), k))
        edges = np.linspace(0, k, n + 1).round().astype(int)
        return [FoldGroup(self.folds[a:b]) for a, b in itertools.pairwise(edges) if b > a]

    def as_json(self) -> dict[str, Any]:
        return {
            "folds": len(self.folds),
            "fold_cuts": self.cuts,
            "fold_train_points": [len(f.train) for f in self.folds],
            "train_points": len(self.folds[-1].train),
            "evaluated_bars": self.stop - self.start,
            "purged_points": int(sum(f.purged for f in self.folds)),
            "embargo_bars": self.embargo_bars,
            "horizon_bars": self.horizon,
        }


def first_cut(
    positions: np.ndarray, horizons: np.ndarray, *, folds: int, embargo: int, min_train: int
) -> int:
    """The earliest bar from which fold 1 has enough clean labels to learn from."""
    ends = np.sort(np.asarray(positions, dtype=np.int64) + np.asarray(horizons, dtype=np.int64) + embargo)
    need = max(min_train, math.ceil(len(ends) / (folds + 1)))
    if len(ends) < need or need < 1:
        raise BadInput(
            f"{len(ends)} labels are too few for walk-forward evaluation: the first fold needs "
            f"{need} labels whose horizon ends before it; label more points"
        )
    return int(ends[need - 1])


def walk_forward(
    positions: np.ndarray,
    horizons: np.ndarray,
    *,
    n_bars: int,
    folds: int,
    horizon: int,
    min_train: int = MIN_TRAIN_POINTS,
    start: int | None = None,
) -> WalkForwardPlan:
    """Folds over the time-sorted labeled points; `start` imposes a first cut (shared experiments)."""
    positions = np.asarray(positions, dtype=np.int64)
    horizons = np.asarray(horizons, dtype=np.int64)
    if len(positions) and np.any(np.diff(positions) <= 0):
        raise ValueError("points must be sorted by time and unique")
    embargo = int(horizon)
    cut = (
        first_cut(positions, horizons, folds=folds, embargo=embargo, min_train=min_train)
        if start is None
        else int(start)
    )
    span = n_bars - cut
    if span < max(folds, 1) or span <= horizon:
        raise BadInput(
            f"the labels leave only {max(span, 0)} bars after the first {min_train} clean training labels "
            f"to evaluate on (need more than the {horizon}-bar horizon): use a longer window "
            "(--lookback-days) or label earlier points"
        )
    edges = cut + np.linspace(0, span, folds + 1).round().astype(np.int64)
    ends = positions + horizons + embargo
    out = []
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        before = positions < lo
        clean = ends <= lo
        out.append(Fold(i, int(lo), int(hi), np.flatnonzero(clean), int(np.sum(before & ~clean))))
    return WalkForwardPlan(tuple(out), int(horizon), embargo, len(positions))
