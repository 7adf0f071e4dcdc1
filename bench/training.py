"""Training-time benchmark of the four bots at production settings, on random-walk data.

Targets (2-core CPU): xgb_agent + ensemble_bot on 20,000 rows under 10 s together; lstm_bot and
transformer_bot on 5,000 windows under 60 s each. Run: `.venv/bin/python bench/training.py`
(`--repeats N` for medians; the load average is printed because other processes skew timings).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.bots.dataset import Dataset, build_dataset
from core.bots.factory import make_bot
from core.features.indicators import compute_features
from core.labeling.hindsight import HindsightLabeler
from core.settings import Settings

TARGETS = {"trees": 10.0, "lstm_bot": 60.0, "transformer_bot": 60.0}


def random_walk_dataset(n_labels: int, seed: int = 0, horizon: int = 10) -> Dataset:
    """Hindsight labels on every bar of a random walk long enough for `n_labels` points."""
    n = n_labels + 80 + horizon
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.005, (n, 2)))
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick[:, 0]),
            "low": np.minimum(open_, close) * (1 - wick[:, 1]),
            "close": close,
            "volume": rng.lognormal(12.0, 0.4, n).round(),
        },
        index=pd.date_range("2000-01-01", periods=n, freq="h", tz="UTC", name="ts"),
    )
    positions = np.arange(80, 80 + n_labels)
    records = HindsightLabeler(horizon).label(bars, compute_features(bars), positions)
    columns = ("current_price", "target", "stop_loss", "confidence", "recommendation", "horizon_bars")
    rows = [{"ts": r.ts, **{c: getattr(r, c) for c in columns}} for r in records if r.accepted]
    frame = pd.DataFrame(rows).set_index("ts")
    return build_dataset(bars, frame)


def fit_seconds(name: str, settings: Settings, train: Dataset, valid: Dataset | None) -> float:
    """Wall seconds of one fit; the process CPU seconds are printed too, since other processes
    competing for the cores stretch wall time but not the work done."""
    bot = make_bot(name, settings)
    started, cpu = time.perf_counter(), time.process_time()
    bot.fit(train, valid)
    wall = time.perf_counter() - started
    epochs = f", {bot.epochs_run} epochs" if hasattr(bot, "epochs_run") else ""
    print(f"    {name}: {wall:.2f}s wall, {time.process_time() - cpu:.2f}s CPU{epochs}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the tree bots (median reported)")
    parser.add_argument("--torch-repeats", type=int, default=1, help="runs of each sequence bot")
    parser.add_argument("--threads", type=int, help="override TRAINING_THREADS (also XGBoost's thread count)")
    parser.add_argument("--only", choices=("trees", "sequence"), help="run one half of the benchmark")
    parser.add_argument(
        "--all-epochs", action="store_true", help="sequence bots without early stopping: the worst case"
    )
    args = parser.parse_args()
    overrides = {"training_threads": args.threads} if args.threads else {}
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    print(f"cpus={os.cpu_count()} training_threads={settings.training_threads} load={os.getloadavg()[0]:.2f}")
    ok = True
    if args.only != "sequence":
        ok &= bench_trees(settings, args.repeats)
    if args.only != "trees":
        ok &= bench_sequence(settings, args.torch_repeats, all_epochs=args.all_epochs)
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


def bench_trees(settings: Settings, repeats: int) -> bool:
    big = random_walk_dataset(24_000)
    train, valid = big.take(np.arange(20_000)), big.take(np.arange(20_000, len(big)))
    both = []
    for _ in range(repeats):
        xgb_s = fit_seconds("xgb_agent", settings, train, valid)
        ens_s = fit_seconds("ensemble_bot", settings, train, valid)
        both.append(xgb_s + ens_s)
        print(f"  xgb_agent {xgb_s:.2f}s + ensemble_bot {ens_s:.2f}s = {xgb_s + ens_s:.2f}s")
    median = statistics.median(both)
    target = TARGETS["trees"]
    print(f"xgb_agent + ensemble_bot on {len(train)} rows: median {median:.2f}s (target < {target:.0f}s)")
    return median < target


def bench_sequence(settings: Settings, repeats: int, *, all_epochs: bool = False) -> bool:
    ok = True
    small = random_walk_dataset(6_000, seed=1)
    train, valid = small.take(np.arange(5_000)), small.take(np.arange(5_000, len(small)))
    for name in ("lstm_bot", "transformer_bot"):
        runs = [fit_seconds(name, settings, train, None if all_epochs else valid) for _ in range(repeats)]
        median = statistics.median(runs)
        ok &= median < TARGETS[name]
        print(
            f"{name} on {len(train)} windows: median {median:.2f}s over {len(runs)} run(s) "
            f"(target < {TARGETS[name]:.0f}s); load={os.getloadavg()[0]:.2f}"
        )
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
