"""The research and admin pages in headless Chromium at 1440x900: the tables people scan fit the page
without horizontal scrolling, and a row's details open in its panel.

Screenshots land in `artifacts/screenshots/` (gitignored) for a human look.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import browser, chromium_path, serve, wait_ready

SHOTS = REPO / "artifacts" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
EURUSD = "symbol=EURUSD&tf=1h"
# Each grid's scrollable area: wider content than its box means horizontal scrolling.
OVERFLOW = """() => [...document.querySelectorAll("[data-testid='stDataFrame'] .dvn-scroller")]
    .map(e => e.scrollWidth - e.clientWidth)"""


@pytest.fixture(scope="module")
def app(markets_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CANDLELAB_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (CANDLELAB_REQUIRE_BROWSER=1) but missing")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    home = tmp_path_factory.mktemp("pages") / "home"
    shutil.copytree(markets_template, home)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(home, QUICK_ENV) as url, browser(path) as chrome:
        yield url, chrome


def _open(app: tuple[str, Any], page_name: str) -> Any:
    url, chrome = app
    page = chrome.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page.goto(f"{url}/{page_name}?{EURUSD}")
    wait_ready(page)
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    return page


@pytest.mark.parametrize("page_name", ["models", "training", "experiments"])
def test_key_columns_fit_at_1440_without_horizontal_scrolling(app: tuple[str, Any], page_name: str) -> None:
    page = _open(app, page_name)
    page.wait_for_timeout(500)  # the grids size their columns after the first paint
    overflow = page.evaluate(OVERFLOW)
    page.screenshot(path=str(SHOTS / f"pages_{page_name}_1440.png"))
    assert overflow and all(o <= 1 for o in overflow), overflow
    page.close()


def test_a_selected_version_opens_its_panel_with_the_gates_reason(app: tuple[str, Any]) -> None:
    page = _open(app, "models")
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.click(position={"x": 18, "y": 35 + 17})  # the first row's checkbox (a canvas grid)
    wait_ready(page)
    panel = page.get_by_text("Gate's reason", exact=True)
    panel.wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "pages_models_panel_1440.png"))
    assert page.get_by_text("Independent points", exact=True).is_visible()
    assert all(o <= 1 for o in page.evaluate(OVERFLOW))
    page.close()
