"""Chronological splits with a purge and an embargo of the label horizon.

A label at bar p with horizon h was made from bars up to p + h. A training point is kept only if
p + h + embargo <= the first evaluated bar: its label's information ends before the evaluated
period begins (purge), with a further `embargo` bars of margin for slowly-moving features that
straddle the boundary. Evaluated points are always the newest ones; nothing is shuffled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChronoSplit:
    train: np.ndarray  # indices of points (into the time-sorted dataset) used for fitting
    test: np.ndarray  # indices of the later, evaluated points
    purged: int  # points between the two dropped because their labels reach into the test period
    embargo_bars: int
    cut_position: int  # bar position where the evaluated period starts

    def as_json(self) -> dict[str, int]:
        return {
            "train_points": len(self.train),
            "test_points": len(self.test),
            "purged_points": self.purged,
            "embargo_bars": self.embargo_bars,
        }


def chrono_split(
    positions: np.ndarray,
    horizons: np.ndarray,
    *,
    test_fraction: float,
    min_test: int = 1,
    embargo: int | None = None,
) -> ChronoSplit:
    """Split time-sorted points into an earlier training part and a later evaluated part.

    `embargo` defaults to the longest label horizon.
    """
    positions = np.asarray(positions, dtype=np.int64)
    horizons = np.asarray(horizons, dtype=np.int64)
    if len(positions) and np.any(np.diff(positions) <= 0):
        raise ValueError("points must be sorted by time and unique")
    n = len(positions)
    embargo_bars = int(horizons.max()) if embargo is None and n else int(embargo or 0)
    n_test = min(n, max(min_test, int(np.ceil(test_fraction * n))))
    start = n - n_test
    if n_test == 0 or start == 0:
        return ChronoSplit(np.arange(0), np.arange(start, n), 0, embargo_bars, int(positions[0]) if n else 0)
    cut = int(positions[start])
    before = np.arange(start)
    keep = positions[before] + horizons[before] + embargo_bars <= cut
    return ChronoSplit(before[keep], np.arange(start, n), int((~keep).sum()), embargo_bars, cut)
