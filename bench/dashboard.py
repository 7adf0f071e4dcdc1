"""The dashboard in a real browser (headless Chromium): how fast it draws, and what polling costs.

Prints three figures:
1. chart page render time with 5,000 candles (INFY.NS 5m, 36,750 bars stored): median of several
   fresh page loads after one warm-up load fills the caches (target: under 2 s);
2. time for a page to become interactive while a training job runs in the same server process;
3. what the progress polling sends: websocket messages and bytes per second while a job runs,
   how many of them carry the chart (should be 0), against the bytes of one full chart render.

Needs Debian's `chromium` (apt-get install chromium). Run: `.venv/bin/python bench/dashboard.py`.
"""

from __future__ import annotations

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
from core.training.service import train_pair as train
from tests.dashboard.live import browser, chromium_path, serve, wait_for_chart, wait_ready

LOADS = 5
CANDLES = 5_000
TARGET_S = 2.0
POLL_WINDOW_S = 8.0
CHART_MARK = b'"candlestick"'  # the price chart's trace type: present only in messages that carry it
# A training long enough to measure around: three bots on many points.
JOB_ENV = {
    "QUICK_BOTS": "ensemble_bot,lstm_bot,transformer_bot",
    "QUICK_SAMPLES": "3000",
    "QUICK_LOOKBACK_DAYS": "200",
    "DASHBOARD_SCHEDULER": "false",
}


def prepare(home: Path) -> None:
    """Demo data, and a fresh model for INFY.NS so viewing it starts no training."""
    ctx = Context.create(load_settings(candlelab_home=home), logs=False)
    supply.bootstrap_demo(ctx)
    labeling = {"lookback_days": 14, "samples": 60, "labeler": "rules"}
    train(ctx, "INFY.NS", "5m", bots=["xgb_agent"], labeling=labeling, activate="always")
    forget_database(ctx.settings.db_url)


def chart_render_times(chrome: Any, url: str) -> tuple[float, list[float]]:
    """(a cold page load, then re-renders of the 5,000-candle chart in an open app after warm-up)."""
    page = chrome.new_page(viewport={"width": 1500, "height": 1100})
    started = time.perf_counter()
    page.goto(f"{url}/?symbol=INFY.NS&tf=5m&candles={CANDLES}")
    wait_for_chart(page, min_candles=CANDLES)
    wait_ready(page)
    cold = time.perf_counter() - started
    times = []
    for _ in range(LOADS + 1):  # the first round warms the caches of the smaller window too
        page.get_by_text("1,000", exact=True).first.click()
        wait_for_chart(page, min_candles=1_000, exact=True)
        wait_ready(page)
        started = time.perf_counter()
        page.get_by_text(f"{CANDLES:,}", exact=True).first.click()
        wait_for_chart(page, min_candles=CANDLES, exact=True)
        wait_ready(page)
        times.append(time.perf_counter() - started)
    page.close()
    return cold, times


def page_load_times(chrome: Any, url: str) -> list[float]:
    """Seconds until each page (models, training, labels, chart) is drawn and idle in a new tab."""
    times = []
    for name in ("models", "training", "labels", ""):
        other = chrome.new_page(viewport={"width": 1500, "height": 1100})
        started = time.perf_counter()
        other.goto(f"{url}/{name}?symbol=INFY.NS&tf=5m")
        wait_ready(other)
        other.locator("h1").first.wait_for()
        times.append(time.perf_counter() - started)
        other.close()
    return times


def record_frames(page: Any) -> list[bytes]:
    frames: list[bytes] = []

    def on_socket(ws: Any) -> None:
        ws.on(
            "framereceived",
            lambda payload: frames.append(payload if isinstance(payload, bytes) else payload.encode()),
        )

    page.on("websocket", on_socket)
    return frames


def active_job(home: Path) -> job_store.JobView | None:
    ctx = Context.create(load_settings(candlelab_home=home), logs=False, migrate=False)
    jobs = [j for j in job_store.list_jobs(ctx.db) if j.status in job_store.ACTIVE_STATUSES]
    return jobs[0] if jobs else None


def main() -> int:
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="candlelab-bench-") as tmp:
        home = Path(tmp)
        prepare(home)
        with serve(home, JOB_ENV) as url, browser(executable) as chrome:
            cold, times = chart_render_times(chrome, url)
            median = statistics.median(times[1:])
            verdict = "OK" if median < TARGET_S else "SLOW"
            print(
                f"chart render, {CANDLES:,} candles, in an open app with warm caches: median {median:.2f} s "
                f"over {LOADS} renders (all {', '.join(f'{t:.2f}' for t in times[1:])}) "
                f"target < {TARGET_S:.0f} s [{verdict}]"
            )
            print(f"cold page load in a fresh tab (app shell, plotly.js, chart): {cold:.2f} s")
            idle = page_load_times(chrome, url)

            # A stale pair starts its (long) quick training; measure the full render on the way.
            page = chrome.new_page(viewport={"width": 1500, "height": 1100})
            frames = record_frames(page)
            page.goto(f"{url}/?symbol=TCS.NS&tf=5m&candles={CANDLES}")
            wait_for_chart(page, min_candles=CANDLES)
            page.get_by_text("Quick training").first.wait_for(timeout=30_000)
            wait_ready(page)
            full_bytes = sum(len(f) for f in frames)
            full_charts = sum(CHART_MARK in f for f in frames)
            job = active_job(home)
            if job is None:
                ctx = Context.create(load_settings(candlelab_home=home), logs=False, migrate=False)
                ended = job_store.list_jobs(ctx.db, limit=1)
                why = f"{ended[0].status}: {ended[0].error}" if ended else "no job was started"
                print(f"the training job ended before polling could be measured ({why})", file=sys.stderr)
                return 1

            frames.clear()
            # Playwright's sync API delivers websocket events only while a Playwright call runs, so
            # wait through the page (a plain time.sleep would record nothing).
            page.wait_for_timeout(POLL_WINDOW_S * 1000)
            polled = list(frames)
            still = active_job(home)
            poll_bytes = sum(len(f) for f in polled)
            poll_charts = sum(CHART_MARK in f for f in polled)
            print(
                f"polling while job {job.job_id} runs: {len(polled)} messages, {poll_bytes / 1024:.1f} KiB "
                f"in {POLL_WINDOW_S:.0f} s ({poll_bytes / POLL_WINDOW_S / 1024:.2f} KiB/s), "
                f"{poll_charts} carrying the chart; one full chart render: {full_bytes / 1024:.0f} KiB "
                f"({full_charts} carrying the chart)" + ("" if still else " [job ended inside the window]")
            )

            interactive = page_load_times(chrome, url)
            ratio = statistics.median(interactive) / statistics.median(idle)
            running = active_job(home) is not None
            print(
                f"pages interactive while training runs: median {statistics.median(interactive):.2f} s "
                f"(models, training, labels, chart: {', '.join(f'{t:.2f}' for t in interactive)} s; "
                f"job still running after: {'yes' if running else 'no'}); with no job running: median "
                f"{statistics.median(idle):.2f} s; ratio {ratio:.2f}"
            )
            if job.job_id:
                ctx = Context.create(load_settings(candlelab_home=home), logs=False, migrate=False)
                job_store.request_cancel(ctx.db, job.job_id)
        forget_database(load_settings(candlelab_home=home).db_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
