"""Do pages stay responsive while training runs? Time to interactive in headless Chromium, with a
long training job running versus none.

The dashboard runs as `make run` would (embedded defaults: SQLite, the local executor), so a
chart-view quick training starts in a worker process of its own, never on the server's threads.
Each round opens the models, training, labels and chart pages in fresh tabs and times each until
it is drawn and its script has stopped. Idle rounds run before the job starts and again after it
is cancelled (the machine may be shared: both are pooled); training rounds run while the job
trains three bots on 3,000 points. Prints the medians and, last, `ratio: <training / idle>`
(target: at most 1.2; with training on the server's own threads it was 1.68).

Needs Debian's `chromium`. Run: `.venv/bin/python bench/dashboard_responsiveness.py [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.jobs import store as job_store
from core.settings import load_settings
from core.training.service import train_pair
from tests.dashboard.live import browser, chromium_path, serve, wait_for_chart, wait_ready

TARGET = 1.2
PAGES = ("models", "training", "labels", "")
JOB_ENV = {  # a quick training long enough to measure around
    "QUICK_BOTS": "ensemble_bot,lstm_bot,transformer_bot",
    "QUICK_SAMPLES": "3000",
    "QUICK_LOOKBACK_DAYS": "200",
    "DASHBOARD_SCHEDULER": "false",
}


def prepare(home: Path) -> None:
    """Demo data, and a fresh model for INFY.NS so that viewing it starts no training."""
    ctx = Context.create(load_settings(candlelab_home=home), logs=False)
    supply.bootstrap_demo(ctx)
    labeling = {"lookback_days": 14, "samples": 60, "labeler": "rules"}
    train_pair(ctx, "INFY.NS", "5m", bots=["xgb_agent"], labeling=labeling, activate="always")
    forget_database(ctx.settings.db_url)


def round_times(chrome: Any, url: str) -> list[float]:
    """Seconds until each page is drawn and idle in a new tab."""
    times = []
    for name in PAGES:
        tab = chrome.new_page(viewport={"width": 1500, "height": 1100})
        started = time.perf_counter()
        tab.goto(f"{url}/{name}?symbol=INFY.NS&tf=5m")
        wait_ready(tab)
        tab.locator("h1").first.wait_for()
        times.append(time.perf_counter() - started)
        tab.close()
    return times


def active_job(home: Path) -> job_store.JobView | None:
    ctx = Context.create(load_settings(candlelab_home=home), logs=False, migrate=False)
    jobs = [j for j in job_store.list_jobs(ctx.db) if j.active]
    return jobs[0] if jobs else None


def start_training(chrome: Any, url: str, home: Path) -> job_store.JobView:
    """Open a stale pair's chart: the dashboard starts its quick training in the background."""
    page = chrome.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{url}/?symbol=TCS.NS&tf=5m")
    wait_for_chart(page)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = active_job(home)
        if job is not None and job.stage.startswith("training"):
            page.close()
            return job
        time.sleep(0.5)
    raise SystemExit(f"no training job reached its training stage: {active_job(home)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="candlelab-responsive-") as tmp:
        home = Path(tmp)
        prepare(home)
        with serve(home, JOB_ENV) as url, browser(executable) as chrome:
            round_times(chrome, url)  # warm-up: caches, plotly.js
            idle = [t for _ in range(args.rounds) for t in round_times(chrome, url)]
            job = start_training(chrome, url, home)
            busy = [t for _ in range(args.rounds) for t in round_times(chrome, url)]
            still = active_job(home)
            ctx = Context.create(load_settings(candlelab_home=home), logs=False, migrate=False)
            job_store.request_cancel(ctx.db, job.job_id)
            while active_job(home) is not None:
                time.sleep(0.5)
            idle += [t for _ in range(args.rounds) for t in round_times(chrome, url)]
        forget_database(load_settings(candlelab_home=home).db_url)
    if still is None:
        print("the training job ended before the training rounds did: lengthen it", file=sys.stderr)
        return 1
    ratio = statistics.median(busy) / statistics.median(idle)
    print(f"idle: median {statistics.median(idle):.2f} s over {len(idle)} page loads")
    print(
        f"while job {job.job_id} trains ({job.stage}): median {statistics.median(busy):.2f} s "
        f"over {len(busy)} page loads"
    )
    print(f"target <= {TARGET} [{'OK' if ratio <= TARGET else 'SLOW'}]")
    print(f"ratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
