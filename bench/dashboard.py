"""The dashboard in a real browser (headless Chromium): how fast the candle chart draws and loads,
how quickly pages open, and what polling sends while a job runs.

The measures (medians of `--rounds`, at least 5):
- *drawn*: 50,000 candles (a 5m series of that many bars, All in view): from the chart component
  receiving its data to the first painted frame with all of them in view (target ≤ 300 ms);
- *bytes per candle*: the whole websocket message that carries the chart (candles, overlays, the
  view) over the candles it holds (target ≤ 48); the candle columns alone are printed beside it;
- *range change*: a range preset on data already in the browser, click to painted frame (≤ 300 ms);
- *cold load*: a fresh browser context opening the chart URL, from navigation start to the candles
  painted and the app idle (target ≤ 2 s);
- *idle page*: Chart, Models, Training and Labels each opened in fresh tabs of one browser (its
  cache shared, as a user's tabs share it) with no job running, each page's median from
  navigation start to its main content drawn and the app idle; the median of those (target
  ≤ 1.2 s, no page above 1.5 s);

Page loads (cold load, idle page) are timed in the page itself (`READY_SCRIPT`): the moment its
main content is drawn (the chart's candles painted, or the page's title) and the script has
finished, the first idle period of the browser's main thread after that. The harness then also
notices it, later by the latency of its polling (50 ms steps and a round trip per look, slower
while the two cores are busy drawing): that figure is printed beside, as the harness saw it.
- polling while a job runs: websocket messages and bytes per second, and how many carry the chart.

Last line: `chart: <N> candles drawn in <ms> ms; cold load <s> s; idle page <s> s`.

Needs Debian's `chromium` (apt-get install chromium). Run: `.venv/bin/python bench/dashboard.py`
(`--rounds 5`; `--rounds 2 --no-polling` for a quick sanity run on a busy machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.jobs import store as job_store
from core.settings import load_settings
from core.training.service import train_pair as train
from core.views.candles import candle_series
from tests.dashboard.live import CHART, browser, chart_state, chromium_path, serve, wait_for_chart, wait_ready
from tests.dashboard.markets import tradingview_csv

BIG = "BENCH"  # the 50,000-candle series
DRAWN_MS, BYTES, RANGE_MS, COLD_S, IDLE_S, PAGE_MAX_S = 300, 48, 300, 2.0, 1.2, 1.5
POLL_WINDOW_S = 8.0
CHART_MARK = b"candlelab_chart"  # the candle component's name: present only in messages that carry it
PAGES = {"chart": "", "models": "models", "training": "training", "labels": "labels"}
JOB_ENV = {  # a training long enough to measure polling around: three bots on many points
    "QUICK_BOTS": "ensemble_bot,lstm_bot,transformer_bot",
    "QUICK_SAMPLES": "3000",
    "QUICK_LOOKBACK_DAYS": "200",
    "DASHBOARD_SCHEDULER": "false",
}


def big_series(n: int) -> pd.DataFrame:
    """`n` 5-minute bars on weekdays, a random walk at 2 decimals."""
    rng = np.random.default_rng(5)
    stamps = pd.date_range("2023-01-02", periods=int(n * 7 / 5) + 600, freq="5min", tz="UTC")
    stamps = stamps[stamps.day_of_week < 5][:n]
    close = 1_500 * np.exp(np.cumsum(rng.normal(0, 0.0015, n)))
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0, 0.0008, n))
    return pd.DataFrame(
        {
            "Open": open_.round(2),
            "High": (np.maximum(open_, close) * (1 + wick)).round(2),
            "Low": (np.minimum(open_, close) * (1 - wick)).round(2),
            "Close": close.round(2),
            "Volume": rng.integers(1_000, 100_000, n),
        },
        index=pd.DatetimeIndex(stamps, name="Datetime"),
    )


def prepare(home: Path, candles: int) -> float:
    """Demo data, the big series, and fresh models for both pairs measured, so viewing them starts
    no training. Returns the candle columns' bytes per candle as the chart sends them."""
    ctx = Context.create(load_settings(candlelab_home=home), logs=False)
    supply.seed_demo_series(ctx)
    supply.import_csv(ctx, tradingview_csv(big_series(candles), home / f"{BIG}, 5.csv"), BIG, "5m")
    labeling = {"lookback_days": 14, "samples": 60, "labeler": "rules"}
    for symbol in ("INFY.NS", BIG):
        train(ctx, symbol, "5m", bots=["xgb_agent"], labeling=labeling, activate="always")
    per_candle = candle_series(ctx, BIG, "5m").bytes_per_candle
    forget_database(ctx.settings.db_url)
    return per_candle


def drawn_times(chrome: Any, url: str, candles: int, rounds: int) -> tuple[list[float], list[float], float]:
    """(drawn ms per fresh tab, range-change ms, websocket bytes per candle of one chart load)."""
    drawn, ranges, wire = [], [], 0.0
    for i in range(rounds + 1):  # the first load fills the server's caches
        page = chrome.new_page(viewport={"width": 1440, "height": 900})
        frames = record_frames(page)
        page.goto(f"{url}/?symbol={BIG}&tf=5m&range=All")
        wait_for_chart(page, min_candles=candles)
        wait_ready(page)
        if i == 0:
            wire = sum(len(f) for f in frames if CHART_MARK in f) / candles
            page.close()
            continue
        drawn.append(chart_state(page)["drawnMs"])
        ranges.append(range_change_ms(page))
        page.close()
    return drawn, ranges, wire


def range_change_ms(page: Any) -> float:
    """Click a range preset on data already in the browser (1M, or the shortest a small series
    offers); time to the next painted frame."""
    return page.locator(CHART).evaluate(
        """box => new Promise(done => {
            const c = box.getRootNode().__candleChart;
            const buttons = [...box.getRootNode().querySelectorAll(".cl-toolbar button")];
            const button = ["1M", "1W", "1D"].map(p => buttons.find(b => b.textContent === p)).find(Boolean);
            const before = JSON.stringify(c.chart.timeScale().getVisibleLogicalRange());
            const t0 = performance.now();
            button.click();
            requestAnimationFrame(() => requestAnimationFrame(() => {
                const after = JSON.stringify(c.chart.timeScale().getVisibleLogicalRange());
                done(after === before ? NaN : performance.now() - t0);
            }));
        })"""
    )


# Runs in every page before its own scripts: stamps `window.__candlelabReady` (ms from navigation
# start) at the first idle period after the main content is drawn (the chart's `candlelab:chart-drawn`
# mark on the Chart, else the page's title) while the app's script is not running.
READY_SCRIPT = """(() => {
  const chart = location.pathname.replace(/\\/+$/, "") === "";
  const drawn = () => chart
    ? performance.getEntriesByName("candlelab:chart-drawn").length > 0
    : !!document.querySelector("[data-testid='stMain'] h1");
  const finished = () => {
    const app = document.querySelector("[data-testid='stApp']");
    return !!app && app.getAttribute("data-test-script-state") === "notRunning";
  };
  let waiting = false;
  const check = () => {
    if (window.__candlelabReady || waiting || !drawn() || !finished()) return;
    waiting = true;
    requestIdleCallback(() => {
      waiting = false;
      if (drawn() && finished()) window.__candlelabReady = performance.now();
      else check();
    });
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
  new PerformanceObserver(check).observe({ type: "mark" });
})();"""


def ready_at(page: Any) -> tuple[float, float]:
    """(in the page, as the harness saw it), in s from navigation start, once the harness has
    seen the main content drawn and the app idle."""
    seen = page.evaluate("() => performance.now()") / 1000
    page.wait_for_function("() => window.__candlelabReady !== undefined", timeout=30_000)
    return page.evaluate("() => window.__candlelabReady") / 1000, seen


def cold_loads(chrome: Any, url: str, rounds: int) -> tuple[list[float], list[float]]:
    """A fresh browser context each time (no cached assets): navigation start to chart idle, (in
    the page, as the harness saw it)."""
    times, seen = [], []
    for _ in range(rounds):
        context = chrome.new_context(viewport={"width": 1440, "height": 900})
        context.add_init_script(READY_SCRIPT)
        page = context.new_page()
        page.goto(f"{url}/?symbol=INFY.NS&tf=5m", wait_until="commit")
        wait_for_chart(page)
        wait_ready(page)
        at, harness = ready_at(page)
        times.append(at)
        seen.append(harness)
        context.close()
    return times, seen


def page_times(chrome: Any, url: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Each page in fresh tabs of one browser: navigation start to its main content drawn and the
    app idle, (in the page, as the harness saw it). The tabs share the browser's cache, as a
    user's do (Playwright's `new_page` on the browser would open every tab in a new, empty profile:
    a cold load, measured apart)."""
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in PAGES}
    context = chrome.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(READY_SCRIPT)
    seen = context.new_page()  # the browser has seen the app once
    seen.goto(f"{url}/models?symbol=INFY.NS&tf=5m")
    wait_ready(seen)
    seen.close()
    for _ in range(rounds):
        for name, path in PAGES.items():
            tab = context.new_page()
            tab.goto(f"{url}/{path}?symbol=INFY.NS&tf=5m", wait_until="commit")
            if name == "chart":
                wait_for_chart(tab)
            else:
                tab.locator("h1").first.wait_for(timeout=90_000)
            wait_ready(tab)
            out[name].append(ready_at(tab))
            tab.close()
    context.close()
    return out


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
    jobs = [j for j in job_store.list_jobs(ctx.db) if j.active]
    return jobs[0] if jobs else None


def polling(chrome: Any, url: str, home: Path) -> str:
    """Open a stale pair (it starts a long quick training) and record what polling sends."""
    page = chrome.new_page(viewport={"width": 1440, "height": 900})
    frames = record_frames(page)
    page.goto(f"{url}/?symbol=TCS.NS&tf=5m")
    wait_for_chart(page)
    page.get_by_text("Quick training").first.wait_for(timeout=30_000)
    wait_ready(page)
    full_bytes = sum(len(f) for f in frames)
    job = active_job(home)
    if job is None:
        return "polling: the training job ended before it could be measured"
    frames.clear()
    # Playwright's sync API delivers websocket events only while a Playwright call runs.
    page.wait_for_timeout(POLL_WINDOW_S * 1000)
    polled = list(frames)
    poll_bytes = sum(len(f) for f in polled)
    page.close()
    took = end_job(home, job.job_id)
    return (
        f"polling while job {job.job_id} runs: {len(polled)} messages, {poll_bytes / 1024:.1f} KiB in "
        f"{POLL_WINDOW_S:.0f} s ({poll_bytes / POLL_WINDOW_S / 1024:.2f} KiB/s), "
        f"{sum(CHART_MARK in f for f in polled)} carrying the chart; the chart page's first load: "
        f"{full_bytes / 1024:.0f} KiB (the job then ended {took:.0f} s after its cancel)"
    )


def end_job(home: Path, job_id: int, limit_s: float = 300.0) -> float:
    """Cancel the job and wait, with the server still up, until it has ended; seconds it took.

    A job's process outlives the server that started it (by design: a restart loses no work), and
    it stops only at its next stage, or when the server's supervisor ends it after the grace
    period. Left running, it would train on through the next benchmark run and slow it down."""
    ctx = Context.create(load_settings(candlelab_home=home), logs=False, migrate=False)
    job_store.request_cancel(ctx.db, job_id)
    start = time.monotonic()
    while active_job(home) is not None:
        if time.monotonic() - start > limit_s:
            raise SystemExit(f"job {job_id} still runs {limit_s:.0f} s after its cancel: stop it first")
        time.sleep(0.5)
    return time.monotonic() - start


def verdict(ok: bool) -> str:
    return "OK" if ok else "SLOW"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--candles", type=int, default=50_000)
    parser.add_argument("--no-polling", action="store_true", help="skip the polling measure (it trains)")
    args = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="candlelab-bench-") as tmp:
        home = Path(tmp)
        per_candle = prepare(home, args.candles)
        with serve(home, JOB_ENV) as url, browser(executable) as chrome:
            drawn, ranges, wire = drawn_times(chrome, url, args.candles, args.rounds)
            cold, cold_seen = cold_loads(chrome, url, args.rounds)
            timed = page_times(chrome, url, args.rounds)
            poll = "polling: not measured (--no-polling)" if args.no_polling else polling(chrome, url, home)
        forget_database(load_settings(candlelab_home=home).db_url)
    d, r, c = statistics.median(drawn), statistics.median(ranges), statistics.median(cold)
    pages = {name: [at for at, _ in t] for name, t in timed.items()}
    medians = {name: statistics.median(t) for name, t in pages.items()}
    idle = statistics.median(medians.values())
    seen = {name: statistics.median(harness for _, harness in t) for name, t in timed.items()}
    print(
        f"drawn: {args.candles:,} candles, median {d:.0f} ms over {len(drawn)} fresh tabs "
        f"({', '.join(f'{t:.0f}' for t in drawn)}) target ≤ {DRAWN_MS} [{verdict(d <= DRAWN_MS)}]"
    )
    print(
        f"wire: the whole chart message {wire:.1f} bytes per candle target ≤ {BYTES} "
        f"[{verdict(wire <= BYTES)}] (its candle columns {per_candle:.0f})"
    )
    print(f"range change in the browser: median {r:.0f} ms target ≤ {RANGE_MS} [{verdict(r <= RANGE_MS)}]")
    print(
        f"cold load: median {c:.2f} s ({', '.join(f'{t:.2f}' for t in cold)}) target ≤ {COLD_S} "
        f"[{verdict(c <= COLD_S)}]"
    )
    worst = max(medians.values())
    print(
        "idle pages: "
        + ", ".join(f"{name} {m:.2f} s" for name, m in medians.items())
        + f"; median {idle:.2f} s target ≤ {IDLE_S}, none above {PAGE_MAX_S} "
        f"[{verdict(idle <= IDLE_S and worst <= PAGE_MAX_S)}]"
    )
    print(
        "as the harness saw them (its polling latency added): cold load "
        f"{statistics.median(cold_seen):.2f} s; idle pages "
        + ", ".join(f"{name} {m:.2f} s" for name, m in seen.items())
        + f"; median {statistics.median(seen.values()):.2f} s"
    )
    print(poll)
    print(f"chart: {args.candles} candles drawn in {d:.0f} ms; cold load {c:.2f} s; idle page {idle:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
