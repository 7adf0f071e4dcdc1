"""Own markets in headless Chromium at 1,440 px, one app server for the module: a CSV uploaded from
the Data page opens as a chart at its 5-decimal precision and, once its quick training ends without
a model beating the baseline, says "no model good enough yet"; an FX pair shows 5 decimals on the
axis, in the hover, the cards and a table, its target and stop lines named by the bot's version,
with no control clipped.

Screenshots land in `artifacts/screenshots/` (gitignored) for a human look.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.context import Context
from core.data import store as bar_store
from core.db.database import forget_database
from core.registry.versions import list_versions
from tests.conftest import REPO, make_settings
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import CHART, browser, require_chromium, serve, wait_for_chart, wait_ready
from tests.dashboard.markets import GBPUSD_MT5

SHOTS = REPO / "artifacts" / "screenshots"
WIDTH = 1440
FIVE = re.compile(r"^\d\.\d{5}$")
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@dataclass
class App:
    url: str
    chrome: Any
    ctx: Context


@pytest.fixture(scope="module")
def app(markets_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One server on a copy of the own-markets home; nothing goes live on its own there."""
    executable = require_chromium()
    home = tmp_path_factory.mktemp("markets_browser") / "home"
    shutil.copytree(markets_template, home)
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**QUICK_ENV, "PROMOTION_MIN_EFFECTIVE": "1000000"}
    ctx = Context.create(make_settings(home), logs=False)
    try:
        with serve(home, env) as url, browser(executable) as chrome:
            yield App(url, chrome, ctx)
    finally:
        forget_database(make_settings(home).db_url)


def _page(app: App, path: str) -> Any:
    page = app.chrome.new_page(viewport={"width": WIDTH, "height": 2200})
    page.goto(f"{app.url}{path}")
    wait_ready(page)
    return page


def _axis_price(page: Any, value: float) -> str:
    """A price as the chart's price axis and crosshair label write it (the series' precision)."""
    return page.locator(CHART).evaluate(
        "(b, v) => b.getRootNode().__candleChart.series.candles.priceFormatter().format(v)", value
    )


def _cells(page: Any) -> list[str]:
    """The visible cells of the page's tables (the grid keeps an accessible copy of its canvas)."""
    script = """() => Array.from(document.querySelectorAll("[data-testid^='glide-cell-']"))
        .map(c => c.textContent)"""
    return page.evaluate(script)


def _unclipped(page: Any, selector: str) -> None:
    """Every element matching `selector` lies wholly inside the main area (nothing cut at 1,440 px)."""
    main = page.locator("[data-testid='stMain']").bounding_box()
    found = page.locator(selector)
    boxes = [b for b in (found.nth(i).bounding_box() for i in range(found.count())) if b is not None]
    assert boxes, selector  # hidden ones (in a closed expander) have no box
    for box in boxes:
        right = box["x"] + box["width"]
        assert box["x"] >= main["x"] and right <= main["x"] + main["width"], (selector, box)


def _pairs(app: App) -> list[tuple[str, str]]:
    return bar_store.list_pairs(app.ctx.db)


def test_a_csv_uploaded_from_the_page_opens_as_a_chart_with_no_model_good_enough_yet(
    app: App, tmp_path: Path
) -> None:
    before = _pairs(app)
    page = _page(app, "/data")
    uploader = page.locator("[data-testid='stFileUploader'] input[type='file']")
    broken = tmp_path / "GBPUSD_semicolons.csv"
    broken.write_text(GBPUSD_MT5.read_text().replace(",", ";"))
    uploader.set_input_files(str(broken))
    page.get_by_text("This file cannot be imported; nothing was stored.").wait_for(timeout=30_000)
    assert "semicolon" in page.locator("[data-testid='stCode']").first.inner_text()
    assert _pairs(app) == before

    page.locator("[data-testid='stFileChipDeleteBtn'] button").first.click()  # remove the bad file
    wait_ready(page)
    uploader.set_input_files(str(GBPUSD_MT5))
    page.get_by_text("Detected: MetaTrader 5 export").wait_for(timeout=30_000)
    page.get_by_text("as they will be stored").wait_for()
    wait_ready(page)
    page.wait_for_selector("[data-testid^='glide-cell-'] >> text=1.63878", state="attached")
    assert "3,172 bars from 2014-01-14" in page.inner_text("[data-testid='stMain']")
    assert "1.63878" in _cells(page)  # the first row, at the file's 5 decimals (float noise gone)
    page.screenshot(path=str(SHOTS / "markets_1_upload_preview.png"), full_page=True)
    page.get_by_role("button", name="Import 3,172 bars as GBPUSD 1d").click()
    page.get_by_text("Stored 3,172 bars of GBPUSD 1d").wait_for(timeout=30_000)
    assert ("GBPUSD", "1d") in _pairs(app)

    page.get_by_role("link", name="Open the GBPUSD 1d chart").click()
    wait_for_chart(page, min_candles=500)
    wait_ready(page)
    assert "symbol=GBPUSD" in page.url and "tf=1d" in page.url
    page.get_by_text("Imported · last bar 2024-05-03").first.wait_for()
    assert FIVE.match(_axis_price(page, 1.3))
    # Opening the stale pair started quick training; its version does not beat the baseline.
    page.get_by_text("No model good enough yet").wait_for(timeout=120_000)
    page.get_by_text("Best candidate:").wait_for()
    wait_ready(page)
    page.screenshot(path=str(SHOTS / "markets_2_no_model_good_enough.png"), full_page=True)
    (version,) = list_versions(app.ctx.db, symbol="GBPUSD", timeframe="1d")
    assert not version.is_active and version.gate_verdict != "promote"
    page.get_by_role("button", name=f"Activate {version.label} anyway…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("no out-of-sample evidence of beating the naive baseline").wait_for(timeout=20_000)
    page.screenshot(path=str(SHOTS / "markets_3_activate_warning.png"), full_page=True)
    dialog.get_by_role("button", name="Cancel").click()
    wait_ready(page)
    assert not list_versions(app.ctx.db, symbol="GBPUSD", timeframe="1d")[0].is_active
    page.close()


def test_an_fx_pair_shows_five_decimals_on_the_axis_the_hover_the_cards_and_a_table(app: App) -> None:
    page = _page(app, "/?symbol=EURUSD&tf=1h")
    wait_for_chart(page, min_candles=500)
    page.get_by_text("Confidence").first.wait_for(timeout=60_000)
    wait_ready(page)
    assert FIVE.match(_axis_price(page, 1.1))
    main = page.inner_text("[data-testid='stMain']")
    assert re.search(r"Target \d\.\d{5} \(", main) and re.search(r"Stop \d\.\d{5} \(", main)
    assert re.search(r"[\d,]+ bars · [\d,]+ independent · 95 % CI", main)
    lines = page.locator(CHART).evaluate(
        "b => b.getRootNode().__candleChart.priceLines.map(l => l.options().title)"
    )
    assert lines == ["xgb_agent v1 target", "xgb_agent v1 stop"], lines  # named by the bot's version
    box = page.locator(f"{CHART} table tr td:nth-child(2)").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.4)
    page.wait_for_timeout(100)
    when, prices = page.locator(f"{CHART} .cl-legend").inner_text().splitlines()[:2]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC$", when), when  # the bar's time
    assert re.fullmatch(r"O \d\.\d{5}  H \d\.\d{5}  L \d\.\d{5}  C \d\.\d{5}  V .+", prices), prices
    for selector in (".cl-toolbar button", ".stMarkdownBadge"):
        _unclipped(page, selector)
    page.screenshot(path=str(SHOTS / "markets_4_fx_chart.png"), full_page=True)

    page.get_by_role("link", name="Samples").click()
    page.get_by_role("heading", name="Training samples").wait_for()
    wait_ready(page)
    page.wait_for_selector("[data-testid^='glide-cell-'] >> text=EURUSD 1h", state="attached")
    prices = [c for c in _cells(page) if re.fullmatch(r"\d\.\d+", c)]
    assert prices and all(FIVE.match(c) for c in prices), prices
    page.screenshot(path=str(SHOTS / "markets_5_fx_samples.png"), full_page=True)
    page.close()
