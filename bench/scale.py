"""Full training of N pairs on a Dask cluster with 1 worker and with 2: wall times and the speedup.

Each run submits the full training of every pair at once (the `full` job: fresh labels from the
offline rule-based analyst, then FULL_BOTS, fanned out as one task per (pair, bot)) to a real
`LocalCluster` of single-threaded worker processes, and times submit-to-last-job-ended. Every
figure is the median of `--runs` runs, after one warm-up job per cluster (the workers' fork
servers import the training stack once). The pairs are the imported GBPUSD daily history
(MetaTrader 5 export) and the demo's three 5-minute series; more pairs repeat them on other
timeframes. It runs in its own CANDLELAB_HOME (a temporary folder) with SQLite.

Prints both wall times, pairs per hour per worker core, and last `speedup: <value>` (target: at
least 1.6 on a 2-core machine). Run: `.venv/bin/python bench/scale.py [--pairs 4] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dask
from distributed import Client, LocalCluster

from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.db.database import forget_database
from core.jobs import store
from core.jobs.dask.client import DaskExecutor
from core.jobs.dask.worker import CandleLabWorker, ForkedProcess
from core.jobs.installation import installation
from core.jobs.runner import JobRunner
from core.jobs.triggers import training_request, widened_lookback
from core.requests import TrainingRequest
from core.settings import load_settings

GBPUSD_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "GBPUSD_1d_mt5.csv"
PAIRS = [("GBPUSD", "1d"), ("INFY.NS", "5m"), ("TCS.NS", "5m"), ("RELIANCE.NS", "5m")]
EXTRA_TIMEFRAMES = ("15m", "30m", "1h")
CLUSTER_CONFIG = {"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 0}
TARGET = 1.6


def pairs_for(n: int) -> list[tuple[str, str]]:
    first = PAIRS[0] if GBPUSD_CSV.exists() else ("GOOG", "1d")  # the bundled daily history otherwise
    pairs = [first, *PAIRS[1:]]
    for tf in EXTRA_TIMEFRAMES:
        pairs += [(symbol, tf) for symbol, _ in PAIRS[1:]]
    if n > len(pairs):
        raise SystemExit(f"at most {len(pairs)} pairs")
    return pairs[:n]


def prepare(home: Path, pairs: list[tuple[str, str]]) -> Context:
    ctx = Context.create(load_settings(candlelab_home=home), logs=False)
    supply.seed_demo_series(ctx)
    if GBPUSD_CSV.exists():
        supply.import_csv(ctx, GBPUSD_CSV, "GBPUSD", "1d")
    for symbol, tf in pairs:
        with ctx.db.read() as session:
            missing = not bar_store.summarize(session, symbol, tf).rows
        if missing:
            supply.refresh_series(ctx, symbol, tf, provider="offline")
    return ctx


def _warm() -> int:
    """On a worker: fork one trivial child, so the fork server has imported the training stack."""
    return ForkedProcess(os.getpid).wait(300) or 0


def full_request(ctx: Context, symbol: str, tf: str) -> TrainingRequest:
    """The full training of a pair, its window widened as the chart view's is for sparse (daily) bars."""
    request = training_request(ctx.settings, "full", symbol, tf)
    assert request.labels is not None
    days = widened_lookback(ctx, symbol, tf, request.labels.lookback_days or 0, request.labels.samples)
    return request.model_copy(update={"labels": request.labels.model_copy(update={"lookback_days": days})})


def one_run(ctx: Context, client: Client, pairs: list[tuple[str, str]]) -> float:
    runner = JobRunner(ctx, executor=DaskExecutor(ctx, client))
    requests = [full_request(ctx, symbol, tf) for symbol, tf in pairs]
    started = time.perf_counter()
    jobs = [runner.submit(request, requested_by="bench") for request in requests]
    while any((job := store.get_job(ctx.db, j.job_id)).active for j in jobs):
        time.sleep(0.2)
    wall = time.perf_counter() - started
    runner.shutdown()
    for j in jobs:
        job = store.get_job(ctx.db, j.job_id)
        if job.status != "succeeded" or (job.result or {}).get("failed"):
            raise SystemExit(
                f"job {job.job_id} {job.symbol} {job.timeframe}: {job.status} {job.error} {job.result}"
            )
    return wall


def measure(ctx: Context, workers: int, pairs: list[tuple[str, str]], runs: int, threads: int) -> list[float]:
    settings = {**installation(ctx.settings), "training_threads": str(threads)}
    with (
        dask.config.set(CLUSTER_CONFIG),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        client.register_plugin(CandleLabWorker(settings))
        client.run(_warm)
        one_run(ctx, client, pairs[:1])  # warm-up: the first labels and models of each process
        walls = []
        for i in range(runs):
            walls.append(one_run(ctx, client, pairs))
            print(f"  {workers} worker(s), run {i + 1}: {walls[-1]:.1f} s", flush=True)
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="TRAINING_THREADS per task (default 1)")
    args = parser.parse_args()
    pairs = pairs_for(args.pairs)
    with tempfile.TemporaryDirectory(prefix="candlelab-scale-") as tmp:
        ctx = prepare(Path(tmp), pairs)
        bots = ",".join(ctx.settings.full_bots)
        print(
            f"full training of {len(pairs)} pairs ({', '.join(f'{s} {tf}' for s, tf in pairs)}); "
            f"bots {bots}; "
            f"{ctx.settings.full_samples} labels per pair (rules); TRAINING_THREADS={args.threads}; "
            f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}",
            flush=True,
        )
        medians = {}
        for workers in (1, 2):
            walls = measure(ctx, workers, pairs, args.runs, args.threads)
            medians[workers] = statistics.median(walls)
            rate = len(pairs) / (medians[workers] / 3600) / workers
            print(
                f"{workers} worker(s): median {medians[workers]:.1f} s over {args.runs} runs "
                f"({', '.join(f'{w:.1f}' for w in walls)}); {rate:.1f} pairs per hour per worker core",
                flush=True,
            )
        forget_database(ctx.settings.db_url)
    speedup = medians[1] / medians[2]
    verdict = "OK" if speedup >= TARGET else "BELOW"
    print(f"target >= {TARGET} on 2 cores [{verdict}]; load now {os.getloadavg()[0]:.2f}")
    print(f"speedup: {speedup:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
