"""Importing big hourly CSVs: rows per second and peak memory, for 1,000,000 and 4,000,000 rows.

Targets (issue 11): 1,000,000 rows in under 5 s and under 400 MB peak RSS, memory flat from
1M to 4M rows. Each import runs in a fresh process (peak RSS is per process) against a fresh
SQLite store; the figure is the median of `--runs` imports. CPU seconds are printed beside the
wall time: on a busy machine they say more than the wall clock (parsing overlaps staging, so
an idle two-core machine finishes in less wall time than CPU time).

Run: `.venv/bin/python bench/import.py` (add `--rows 1000000` for one size, `--runs 3`).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
TARGET_S, TARGET_MB = 5.0, 400.0


def write_csv(path: Path, rows: int, seed: int = 11) -> None:
    """An hourly EURUSD-like series (5 decimals) written in blocks, so the writer stays small."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("1800-01-01", tz="UTC")  # 4M hours must end before 2262 (pandas ns)
    price = 1.1
    with path.open("w") as handle:
        handle.write("Datetime,Open,High,Low,Close,Volume\n")
        for offset in range(0, rows, 500_000):
            n = min(500_000, rows - offset)
            close = price * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
            open_ = np.r_[price, close[:-1]]
            price = float(close[-1])
            wick = np.abs(rng.normal(0, 0.0004, n))
            frame = pd.DataFrame(
                {
                    "Open": open_.round(5),
                    "High": (np.maximum(open_, close) * (1 + wick)).round(5) + 0.00001,
                    "Low": (np.minimum(open_, close) * (1 - wick)).round(5) - 0.00001,
                    "Close": close.round(5),
                    "Volume": rng.integers(1, 5_000, n),
                },
                index=pd.date_range(
                    start + pd.Timedelta(hours=offset), periods=n, freq="1h", name="Datetime"
                ),
            )
            frame.to_csv(handle, header=False, date_format="%Y-%m-%d %H:%M:%S")


def _child(csv: Path, home: Path) -> None:
    """One import in this process; prints its wall time and peak RSS as JSON."""
    from core.context import Context
    from core.data import supply
    from core.settings import Settings

    ctx = Context.create(Settings(_env_file=None, candlelab_home=home), logs=False)  # type: ignore[call-arg]
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    outcome = supply.import_csv(ctx, csv, "EURUSD", "1h")
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb, cpu_s = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime - cpu_before
    print(json.dumps({"rows": outcome.written, "wall_s": wall, "cpu_s": cpu_s, "peak_mb": peak_mb}))


def measure(rows: int, runs: int, work: Path) -> dict[str, float]:
    csv = work / f"hourly_{rows}.csv"
    if not csv.exists():
        write_csv(csv, rows)
    results = []
    for run in range(runs):
        home = work / f"home_{rows}_{run}"
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(csv), str(home)],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    wall = statistics.median(r["wall_s"] for r in results)
    peak = statistics.median(r["peak_mb"] for r in results)
    cpu = statistics.median(r["cpu_s"] for r in results)
    return {"rows": rows, "wall_s": wall, "cpu_s": cpu, "rows_per_s": rows / wall, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="row counts (default 1M and 4M)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="candlelab-bench-import-") as tmp:
        figures = [measure(n, args.runs, Path(tmp)) for n in args.rows or [1_000_000, 4_000_000]]
    for f in figures:
        print(
            f"{f['rows']:>10,} rows: {f['wall_s']:6.2f} s  {f['rows_per_s']:>10,.0f} rows/s  "
            f"(CPU {f['cpu_s']:.2f} s)  peak RSS {f['peak_mb']:6.0f} MB  (median of {args.runs})"
        )
    one = next((f for f in figures if f["rows"] == 1_000_000), None)
    if one:
        print(
            f"1M target: under {TARGET_S:g} s and {TARGET_MB:g} MB -> "
            f"{'met' if one['wall_s'] < TARGET_S and one['peak_mb'] < TARGET_MB else 'NOT met'}"
        )
    if len(figures) > 1:
        growth = figures[-1]["peak_mb"] / figures[0]["peak_mb"]
        print(f"peak RSS {figures[-1]['rows']:,} / {figures[0]['rows']:,} rows: x{growth:.2f} (flat is ~1)")


if __name__ == "__main__":
    main()
