"""Time to compute every feature for 1,000,000 bars on one core (target: under 3 s).

Prints the median of several runs. Run: `.venv/bin/python bench/features.py`.
"""

from __future__ import annotations

import os

# One core, as the target says: pin the BLAS/OpenMP pools before numpy loads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.features.indicators import FEATURE_COLUMNS, compute_features  # noqa: E402

N_BARS = 1_000_000
RUNS = 5
TARGET_S = 3.0


def synthetic_bars(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.0008, n))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": rng.integers(1_000, 100_000, n).astype("float64"),
        },
        index=pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="ts"),
    )


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    bars = synthetic_bars(N_BARS)
    compute_features(bars.iloc[:10_000])  # warm up imports and caches
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        feats = compute_features(bars)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"bars: {N_BARS:,}  features: {len(FEATURE_COLUMNS)} (+atr, sma_20)  rows out: {len(feats):,}")
    print(
        f"runs: {RUNS}  median: {median:.3f} s  min: {min(times):.3f} s  max: {max(times):.3f} s (one core)"
    )
    verdict = "OK" if median < TARGET_S else "MISSED"
    print(f"target: < {TARGET_S:.1f} s  -> {verdict} ({median / TARGET_S:.0%} of budget)")


if __name__ == "__main__":
    main()
