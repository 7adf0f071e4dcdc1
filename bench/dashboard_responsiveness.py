"""Does the dashboard stay as quick while training runs? The measures of `bench/dashboard.py`
(drawn, range change, cold load, idle pages, page loads timed in the page as there) with no job
running versus a long training job.

The dashboard runs as `make run` would (embedded defaults: SQLite, the local executor), so a
chart-view quick training starts in a worker process of its own, never on the server's threads.
Idle rounds run before the job starts and again after it is cancelled (the machine may be shared:
both are pooled); training rounds run while the job trains three bots. Each measure's median
while training is compared with its idle median; the target is at most 20 % more for every one.
Last line: `ratio: <the largest training / idle ratio>`.

Needs Debian's `chromium`. Run: `.venv/bin/python bench/dashboard_responsiveness.py` (`--rounds 5`;
`--rounds 1 --candles 5000 --samples 600` for a quick sanity run on a busy machine).
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

from bench.dashboard import JOB_ENV, active_job, cold_loads, drawn_times, end_job, page_times, prepare
from core.db.database import forget_database
from core.jobs import store as job_store
from core.settings import load_settings
from tests.dashboard.live import browser, chromium_path, serve, wait_for_chart

TARGET = 1.2
MEASURES = ("drawn", "range change", "cold load", "idle page")


def measure(chrome: Any, url: str, candles: int, rounds: int) -> dict[str, list[float]]:
    """Every figure of each round, by measure (ms for the chart's own, s for page loads)."""
    drawn, ranges, _ = drawn_times(chrome, url, candles, rounds)
    pages = page_times(chrome, url, rounds)
    # An idle page figure is the median over the pages of each round (timed in the page).
    idle = [statistics.median(times[i][0] for times in pages.values()) for i in range(rounds)]
    return {
        "drawn": drawn,
        "range change": ranges,
        "cold load": cold_loads(chrome, url, rounds)[0],
        "idle page": idle,
    }


def pooled(a: dict[str, list[float]], b: dict[str, list[float]]) -> dict[str, list[float]]:
    return {name: a[name] + b[name] for name in MEASURES}


def start_training(chrome: Any, url: str, home: Path) -> job_store.JobView:
    """Open a stale pair's chart: the dashboard starts its quick training in the background."""
    page = chrome.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/?symbol=TCS.NS&tf=5m")
    wait_for_chart(page)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = active_job(home)
        if job is not None and job.stage.startswith("training"):
            page.close()
            return job
        time.sleep(0.5)
    raise SystemExit(f"no training job reached its training stage: {active_job(home)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--candles", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=3_000, help="the training job's points per bot")
    args = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        print("Chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    env = {**JOB_ENV, "QUICK_SAMPLES": str(args.samples)}
    with tempfile.TemporaryDirectory(prefix="candlelab-responsive-") as tmp:
        home = Path(tmp)
        prepare(home, args.candles)
        with serve(home, env) as url, browser(executable) as chrome:
            before = measure(chrome, url, args.candles, args.rounds)
            job = start_training(chrome, url, home)
            busy = measure(chrome, url, args.candles, args.rounds)
            still = active_job(home)
            if still is not None:
                print(f"the job was at '{still.stage}' ({still.progress:.0%}) when the training rounds ended")
            end_job(home, job.job_id)
            idle = pooled(before, measure(chrome, url, args.candles, args.rounds))
        forget_database(load_settings(candlelab_home=home).db_url)
    if still is None:
        print(
            "the training job ended before the training rounds did: lengthen it (--samples)", file=sys.stderr
        )
        return 1
    ratios = {}
    for name in MEASURES:
        quiet, loaded = statistics.median(idle[name]), statistics.median(busy[name])
        ratios[name] = loaded / quiet
        unit = "ms" if name in ("drawn", "range change") else "s"
        digits = 0 if unit == "ms" else 2
        print(
            f"{name}: idle {quiet:.{digits}f} {unit} (n={len(idle[name])}), while job {job.job_id} "
            f"trains {loaded:.{digits}f} {unit} (n={len(busy[name])}): ×{ratios[name]:.2f} "
            f"[{'OK' if ratios[name] <= TARGET else 'SLOW'}]"
        )
        print(
            f"  each: idle {' '.join(f'{v:.{digits}f}' for v in idle[name])}; "
            f"training {' '.join(f'{v:.{digits}f}' for v in busy[name])}"
        )
    worst = max(ratios.values())
    print(f"target: every measure ×{TARGET} at most [{'OK' if worst <= TARGET else 'SLOW'}]")
    print(f"ratio: {worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
