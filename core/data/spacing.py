"""Stretches of bars spaced unlike their timeframe: a run of daily bars in a file imported as 1h.

Markets close (nights, weekends, holidays), so one wide step between two bars is ordinary. A
stretch is a run of at least `MIN_STEPS` consecutive steps that are all off the timeframe (wider
than 1.1x or narrower than 0.9x of it): that is a different bar size, not a closure. The check
streams over sorted timestamps, so an import of millions of rows runs it in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from core.timeframes import TIMEFRAMES, Timeframe

MIN_STEPS = 5  # six bars in a row, each off the timeframe's spacing
MAX_REPORTED = 5
_SAMPLE = 1_000  # steps kept per stretch for its typical spacing


@dataclass(frozen=True)
class Stretch:
    start_us: int
    end_us: int
    bars: int
    typical_us: int  # the median step inside the stretch

    def describe(self, tf: Timeframe) -> str:
        start, end = (pd.Timestamp(v, unit="us", tz="UTC").isoformat() for v in (self.start_us, self.end_us))
        step = _spacing_text(self.typical_us)
        return f"{self.bars:,} bars from {start} to {end} are about {step} apart, not {tf.code}"


def _spacing_text(micros: int) -> str:
    step = timedelta(microseconds=micros)
    for tf in TIMEFRAMES.values():
        if 0.9 <= step / tf.nominal <= 1.1:
            return f"{_plain(step)} (like {tf.code} bars)"
    return _plain(step)


def _plain(step: timedelta) -> str:
    seconds = step.total_seconds()
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            n = round(seconds / size, 1)
            n_text = f"{n:g}"
            return f"{n_text} {unit}" + ("" if n_text == "1" else "s")
    return f"{seconds:g} seconds"


@dataclass
class _Run:
    start_us: int
    steps: int = 0
    end_us: int = 0
    sample: list[int] = field(default_factory=list)


class SpacingCheck:
    def __init__(self, tf: Timeframe) -> None:
        self.tf = tf
        nominal = int(tf.nominal.total_seconds() * 1_000_000)
        self.low, self.high = 0.9 * nominal, 1.1 * nominal
        self.last: int | None = None
        self.run: _Run | None = None
        self.found: list[Stretch] = []
        self.count = 0

    def feed(self, stamps_us: np.ndarray) -> None:
        """Timestamps in microseconds, ascending, continuing from the previous call."""
        if not stamps_us.size:
            return
        points = stamps_us if self.last is None else np.concatenate([[self.last], stamps_us])
        self.last = int(stamps_us[-1])
        steps = np.diff(points)
        off = (steps < self.low) | (steps > self.high)
        if not off.any():
            self._close()
            return
        # Segments of consecutive off-grid steps: [begin, end) in `steps`, bars points[begin..end].
        edges = np.flatnonzero(np.diff(np.concatenate([[0], off.astype(np.int8), [0]])))
        for begin, end in zip(edges[0::2], edges[1::2], strict=True):
            if begin > 0 or self.run is None:
                self._close()
                self.run = _Run(int(points[begin]))
            run = self.run
            run.steps += int(end - begin)
            run.end_us = int(points[end])
            if len(run.sample) < _SAMPLE:
                run.sample.extend(steps[begin:end][: _SAMPLE - len(run.sample)].tolist())
            if end < len(steps):
                self._close()
        if off[-1] == 0:
            self._close()

    def _close(self) -> None:
        run, self.run = self.run, None
        if run is None or run.steps < MIN_STEPS:
            return
        self.count += 1
        if len(self.found) < MAX_REPORTED:
            self.found.append(Stretch(run.start_us, run.end_us, run.steps + 1, int(np.median(run.sample))))

    def warnings(self) -> list[str]:
        """One sentence per stretch (the first few), naming where it is."""
        self._close()
        out = [s.describe(self.tf) for s in self.found]
        if self.count > len(self.found):
            out.append(f"... and {self.count - len(self.found):,} more such stretches")
        if out:
            tf = self.tf.code
            out.append(
                f"check that the file holds only {tf} bars, or import the other bars as their own timeframe"
            )
        return out
