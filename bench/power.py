"""Power on the chart path: does a real, modest edge go live, and does noise stay out?

Each run starts from a fresh home, writes a 20,000-bar hourly series as a CSV export, imports it
through the CSV import path, opens the chart (the real trigger and `JobRunner`, default settings,
default label horizon, the promotion gate as it is) and waits for the quick job to end. A run
"goes live" when the job leaves any bot active.

- planted: `core.data.planted.planted_edge` (random-walk trend + AR(1) deviation; an ideal
  predictor calls 62 % of 12-bar directions, SMA20 55 %). Power = the share that goes live.
- random walk: `core.data.planted.garch_random_walk` (GARCH(1,1), Student-t). False positives =
  the share that goes live.
Targets: power >= 90 %, false positives <= 5 %, median trigger-to-done <= 15 s (quiet machine).

Run: `.venv/bin/python bench/power.py [--seeds 20] [--first-seed 0] [--bars 20000]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.planted import garch_random_walk, planted_edge
from core.services.chart_run import ChartRun, run_chart_path

POWER_TARGET, FALSE_POSITIVE_TARGET, TIME_TARGET_S = 0.90, 0.05, 15.0


def _one(kind: str, seed: int, n_bars: int) -> ChartRun:
    bars = planted_edge(seed, n_bars).bars if kind == "planted" else garch_random_walk(seed, n_bars)
    with tempfile.TemporaryDirectory(prefix="candlelab-power-") as tmp:
        return run_chart_path(Path(tmp), bars, symbol="EDGE" if kind == "planted" else "WALK")


def _line(kind: str, seed: int, run: ChartRun) -> str:
    bots = "; ".join(
        f"{v['bot']} {v['accuracy']} vs {v['baseline']} n_eff {v['effective_n']} "
        f"p {v['p_value']} {v['verdict']}"
        for v in run.versions
    )
    return f"{kind:<8} seed {seed:>3}: {'LIVE' if run.live else 'out ':<4} {run.seconds:6.2f} s  {bots}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--bars", type=int, default=20_000)
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results: dict[str, list[ChartRun]] = {"planted": [], "random": []}
    for seed in seeds:
        for kind in results:
            run = _one(kind, seed, args.bars)
            results[kind].append(run)
            print(_line(kind, seed, run), flush=True)
    n = len(seeds)
    power = sum(r.live for r in results["planted"])
    false_pos = sum(r.live for r in results["random"])
    times = [r.seconds for runs in results.values() for r in runs]
    median = statistics.median(times)
    power_ok = power >= POWER_TARGET * n
    false_ok = false_pos <= FALSE_POSITIVE_TARGET * n
    print(
        f"median trigger-to-done: {median:.2f} s on {args.bars} hourly bars "
        f"(target <= {TIME_TARGET_S:.0f} s) [{'OK' if median <= TIME_TARGET_S else 'MISSED'}]"
    )
    print(
        f"targets: power >= {POWER_TARGET:.0%} [{'OK' if power_ok else 'MISSED'}], "
        f"false positives <= {FALSE_POSITIVE_TARGET:.0%} [{'OK' if false_ok else 'MISSED'}]"
    )
    print(f"power: {power}/{n}")
    print(f"false positives: {false_pos}/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
