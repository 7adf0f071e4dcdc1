"""End to end in headless Chromium: a stale pair trains in the background while the chart stays up,
the new model's call appears, and on Models two versions are compared and one is activated.

Screenshots of every page land in `artifacts/screenshots/` (gitignored) for a human look.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from core.context import Context
from core.db.database import forget_database
from core.jobs import store as job_store
from core.registry.activation import activate
from core.registry.versions import list_versions
from tests.conftest import REPO, make_settings
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import browser, require_chromium, serve, wait_for_chart, wait_ready
from tests.support.servers import wait_until

SHOTS = REPO / "artifacts" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture
def chromium() -> str:
    path = require_chromium()
    return path


def _wait_db(predicate, ctx: Context, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: predicate(ctx), timeout=timeout, interval=0.25)


def _idle(ctx: Context) -> bool:
    jobs = job_store.list_jobs(ctx.db)
    return bool(jobs) and all(j.status not in job_store.ACTIVE_STATUSES for j in jobs)


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _select_rows(page, rows: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Tick row checkboxes of the versions table (a canvas grid: click the row-marker column)."""
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    assert box is not None
    for row in rows:
        grid.click(position={"x": 18, "y": 35 + 35 * row + 17})
        wait_ready(page)


def test_stale_pair_trains_in_background_then_compare_and_activate(
    chromium: str, goog_template: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(goog_template, home)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Without out-of-sample evidence nothing goes live on its own: a person activates (here, and below).
    env = {**QUICK_ENV, "PROMOTION_MIN_EFFECTIVE": "1000000"}
    ctx = Context.create(make_settings(home), logs=False)
    try:
        with serve(home, env) as url, browser(chromium) as chrome:
            page = chrome.new_page(viewport={"width": 1500, "height": 1800})
            page.goto(f"{url}/?symbol=GOOG&tf=1d")
            page.wait_for_selector("[data-testid='stApp']")
            # The chart is up while the quick training runs behind it.
            page.get_by_text("Quick training").first.wait_for(timeout=30_000)
            wait_for_chart(page, min_candles=500)
            _shot(page, "1_chart_training")
            # The job ends with a toast; once a person activates its version, its call is on the chart.
            page.locator("[data-testid='stToast']").filter(has_text="finished").first.wait_for(timeout=90_000)
            (first,) = list_versions(ctx.db, symbol="GOOG", timeframe="1d")
            assert not first.is_active and first.gate_verdict is not None
            activate(ctx, first.version_id, actor="test")
            page.reload()
            page.get_by_text("Confidence").first.wait_for(timeout=60_000)
            assert "symbol=GOOG" in page.url and "tf=1d" in page.url
            _shot(page, "2_chart_signal")
            assert [v.bot for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d")] == ["xgb_agent"]

            page.get_by_role("button", name="Retrain now").click()
            _wait_db(lambda c: len(list_versions(c.db, symbol="GOOG", timeframe="1d")) == 2 and _idle(c), ctx)

            page.get_by_role("link", name="Models").click()
            page.get_by_text("Activation history").wait_for(timeout=30_000)
            wait_ready(page)
            assert "symbol=GOOG" in page.url  # the pair follows the analyst across pages
            _select_rows(page, [0, 1])
            page.get_by_text("Comparing xgb_agent v2, xgb_agent v1").wait_for(timeout=30_000)
            page.get_by_role("tab", name="Equity curves").click()
            _shot(page, "3_models_compare")
            page.get_by_role("button", name="Activate xgb_agent v2").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("replaces").wait_for(timeout=20_000)
            _shot(page, "4_models_confirm")
            dialog.get_by_role("button", name="Activate", exact=True).click()
            page.get_by_text("xgb_agent v2 active").wait_for(timeout=30_000)
            active = [
                v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active
            ]
            assert active == [2]
            _shot(page, "5_models_activated")

            for name in ("Labels", "Samples", "Training"):
                page.get_by_role("link", name=name).click()
                page.get_by_role(
                    "heading", name=name if name != "Samples" else "Training samples"
                ).first.wait_for()
                wait_ready(page)
                time.sleep(1.0)  # charts finish drawing
                _shot(page, f"6_{name.lower()}")
    finally:
        forget_database(make_settings(home).db_url)
    print(f"\nscreenshots: {SHOTS}")
