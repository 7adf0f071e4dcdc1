"""Following 50,000 signals over 1,000,000 bars by the one trade rule (`follow_signals`).

Targets: under 1 s on one core, and at most 3x vectorbt's `Portfolio.from_signals` on the same
signals (same entries, sides, targets, stops, commission and slippage) where vectorbt is
importable; without it the ratio is skipped. Both ours and the paper trader's planning
(`plan_trades`, the same signals as a signal frame, one trade object per trade taken) are also
timed on a tenth of the data: ten times the data must take about ten times as long (linear),
not a hundred (what rewriting the curve from every exit cost). vectorbt's open-source API has no
time stop, so it only exits at a stop or a target, while ours also resolves every timeout; it is
timed after a warm-up call (its first call compiles with numba), on the orders only (its equity
is lazy).
Prints the median of several runs.

Run: `.venv/bin/python bench/backtest.py [--bars N] [--signals M] [--runs R]`.
"""

from __future__ import annotations

import os

# One core, as the target says: pin the BLAS/OpenMP pools before numpy loads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation.backtest import follow_signals  # noqa: E402
from core.evaluation.costs import TradingCosts  # noqa: E402
from core.learning.trades import plan_trades  # noqa: E402

N_BARS, N_SIGNALS, RUNS = 1_000_000, 50_000, 5
HORIZON = 24  # the 5-minute label horizon
COSTS = TradingCosts(commission_bps=2.0, slippage_bps=2.0)  # the equity default
TARGET_S, TARGET_RATIO = 1.0, 3.0


@dataclass(frozen=True)
class Signals:
    positions: np.ndarray
    direction: np.ndarray
    to_target: np.ndarray  # fraction of the entry price
    to_stop: np.ndarray

    def levels(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        price, short = close[self.positions], self.direction < 0
        target = np.where(short, price * (1 - self.to_target), price * (1 + self.to_target))
        stop = np.where(short, price * (1 + self.to_stop), price * (1 - self.to_stop))
        return target, stop


def synthetic_bars(n: int, seed: int = 7) -> pd.DataFrame:
    """A random walk of one-minute bars with overnight-style gaps on one bar in a hundred."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    gaps = np.where(rng.uniform(size=n) < 0.01, rng.normal(0, 0.004, n), 0.0)
    open_ = np.r_[close[0], close[:-1]] * np.exp(gaps)
    spread = np.abs(rng.normal(0, 0.0008, n))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": 1.0,
        },
        index=pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="ts"),
    )


def random_signals(n_bars: int, m: int, seed: int = 11) -> Signals:
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(n_bars - 1, size=m, replace=False))
    direction = rng.choice(np.array([-1, 1]), size=m)
    return Signals(positions, direction, rng.uniform(0.002, 0.01, m), rng.uniform(0.002, 0.01, m))


def median_time(run: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def ours(bars: pd.DataFrame, signals: Signals) -> Callable[[], object]:
    target, stop = signals.levels(bars["close"].to_numpy())
    return lambda: follow_signals(bars, signals.positions, signals.direction, target, stop, HORIZON, COSTS)


def paper(bars: pd.DataFrame, signals: Signals) -> Callable[[], list[object]]:
    target, stop = signals.levels(bars["close"].to_numpy())
    frame = pd.DataFrame(
        {
            "recommendation": np.where(signals.direction < 0, "SELL", "BUY"),
            "target": target,
            "stop_loss": stop,
            "confidence": 0.9,
            "predicted_return": 0.0,
        },
        index=bars.index[signals.positions],
    )
    return lambda: plan_trades(bars, frame, start=0, horizon=HORIZON, min_confidence=0.5, costs=COSTS)


def vectorbt_run(bars: pd.DataFrame, signals: Signals) -> Callable[[], object] | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    n = len(bars)
    entries, short_entries = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    entries[signals.positions[signals.direction > 0]] = True
    short_entries[signals.positions[signals.direction < 0]] = True
    sl_stop, tp_stop = np.full(n, np.nan), np.full(n, np.nan)
    sl_stop[signals.positions], tp_stop[signals.positions] = signals.to_stop, signals.to_target
    frame = {c: bars[c].to_numpy() for c in ("open", "high", "low", "close")}

    def run() -> object:
        return vbt.Portfolio.from_signals(
            frame["close"],
            entries,
            short_entries=short_entries,
            open=frame["open"],
            high=frame["high"],
            low=frame["low"],
            sl_stop=sl_stop,
            tp_stop=tp_stop,
            fees=COSTS.commission,
            slippage=COSTS.slippage,
            freq="1min",
        )

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=N_BARS)
    parser.add_argument("--signals", type=int, default=N_SIGNALS)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    bars = synthetic_bars(args.bars)
    signals = random_signals(args.bars, args.signals)
    run = ours(bars, signals)
    result = run()  # warm up imports and caches
    median, times = median_time(run, args.runs)
    print(f"bars: {args.bars:,}  signals: {args.signals:,}  trades taken: {result.trades:,}")  # type: ignore[attr-defined]
    print(
        f"follow_signals: median {median:.3f} s  min {min(times):.3f} s  max {max(times):.3f} s "
        f"over {args.runs} runs (one core)"
    )
    verdict = "OK" if median < TARGET_S else "MISSED"
    print(f"target: < {TARGET_S:.1f} s  -> {verdict} ({median / TARGET_S:.0%} of budget)")
    plan = paper(bars, signals)
    plan()
    plan_median, _ = median_time(plan, args.runs)
    print(f"plan_trades: median {plan_median:.3f} s")
    tenth_bars, tenth = synthetic_bars(args.bars // 10), random_signals(args.bars // 10, args.signals // 10)
    small, small_plan = (
        median_time(ours(tenth_bars, tenth), args.runs)[0],
        median_time(paper(tenth_bars, tenth), args.runs)[0],
    )
    growth = f"follow_signals x{median / small:.1f}, plan_trades x{plan_median / small_plan:.1f}"
    print(f"ten times the data: {growth} the time (linear about 10, quadratic about 100)")
    reference = vectorbt_run(bars, signals)
    if reference is None:
        print("vectorbt: not installed, ratio skipped (pip install vectorbt to compare)")
        return
    portfolio = reference()  # numba compiles here
    vbt_median, vbt_times = median_time(reference, args.runs)
    ratio = median / vbt_median
    print(
        f"vectorbt from_signals: median {vbt_median:.3f} s  min {min(vbt_times):.3f} s  "
        f"trades: {portfolio.trades.count():,}"  # type: ignore[attr-defined]
    )
    verdict = "OK" if ratio <= TARGET_RATIO else "MISSED"
    print(f"ratio ours / vectorbt: {ratio:.2f}x  target: <= {TARGET_RATIO:.0f}x  -> {verdict}")


if __name__ == "__main__":
    main()
