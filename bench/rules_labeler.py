"""The rule-based analyst on 50,000 points of a 5m series (target: under 15 s).

Prints the median of three runs. Run: `.venv/bin/python bench/rules_labeler.py`.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from core.features.indicators import compute_features
from core.labeling.rules import RuleLabeler

POINTS = 50_000
RUNS = 3
TARGET_S = 15.0


def main() -> None:
    n = POINTS + 200
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    bars = pd.DataFrame(
        {"open": close, "high": close * 1.002, "low": close * 0.998, "close": close, "volume": 1e4},
        index=pd.date_range("2022-01-03", periods=n, freq="5min", tz="UTC", name="ts"),
    )
    features = compute_features(bars)
    positions = np.arange(200, n)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        records = RuleLabeler(24).label(bars, features, positions)
        times.append(time.perf_counter() - started)
        assert len(records) == POINTS
    median = statistics.median(times)
    print(f"rules labeler: {POINTS:,} points, runs {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"median {median:.2f} s ({POINTS / median:,.0f} points/s; target < {TARGET_S:.0f} s)")


if __name__ == "__main__":
    main()
