"""The research and admin pages in headless Chromium at 1440 and 1024 px wide: no table clips a text,
at 1440 none scrolls sideways, and a row's details (a version's gate reason, an activation's why)
open in its panel, and the Labels chart (the candle component) shows a label's details on hover.

Screenshots land in `artifacts/screenshots/` (gitignored) for a human look.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import CHART, browser, require_chromium, serve, wait_for_chart, wait_ready
from tests.dashboard.tables import clipped_controls, grid_fits

SHOTS = REPO / "artifacts" / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
EURUSD = "symbol=EURUSD&tf=1h"


@pytest.fixture(scope="module")
def app(markets_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    path = require_chromium()
    home = tmp_path_factory.mktemp("pages") / "home"
    shutil.copytree(markets_template, home)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(home, QUICK_ENV) as url, browser(path) as chrome:
        yield url, chrome


def _open(app: tuple[str, Any], page_name: str, width: int = 1440) -> Any:
    url, chrome = app
    page = chrome.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    page.goto(f"{url}/{page_name}?{EURUSD}")
    wait_ready(page)
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    # A canvas grid takes clicks once it has drawn its cells and sized its columns.
    page.locator("[data-testid^='glide-cell-']").first.wait_for(state="attached")
    page.wait_for_timeout(500)
    return page


@pytest.mark.parametrize("width", [1440, 1024])
@pytest.mark.parametrize("page_name", ["models", "training", "experiments", "labels", "samples", "audit"])
def test_no_table_clips_a_text_and_at_1440_none_scrolls_sideways(
    app: tuple[str, Any], page_name: str, width: int
) -> None:
    page = _open(app, page_name, width)
    page.locator("[data-testid^='glide-cell-']").first.wait_for(state="attached")
    page.wait_for_timeout(500)  # the grids size their columns after the first paint
    fits = grid_fits(page)
    page.screenshot(path=str(SHOTS / f"pages_{page_name}_{width}.png"), full_page=True)
    assert fits
    assert not clipped_controls(page)
    for fit in fits:
        assert not fit.clipped, (fit.clipped, fit)
        # At 1024 px a wide table may scroll sideways: its key columns come first, in view.
        assert width < 1440 or not fit.scrolls, fit


def test_a_selected_version_opens_its_panel_with_the_gates_reason(app: tuple[str, Any]) -> None:
    page = _open(app, "models")
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.click(position={"x": 18, "y": 35 + 17})  # the first row's checkbox (a canvas grid)
    wait_ready(page)
    panel = page.get_by_text("Gate's reason", exact=True)
    panel.wait_for(timeout=60_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "pages_models_panel_1440.png"))
    assert page.get_by_text("Independent points", exact=True).is_visible()
    assert not any(fit.scrolls or fit.clipped for fit in grid_fits(page))
    page.close()


def test_an_activation_says_why_in_its_row_panel(app: tuple[str, Any]) -> None:
    page = _open(app, "models")
    history = page.locator("[data-testid='stDataFrame']").nth(1)
    history.click(position={"x": 18, "y": 35 + 17})  # the first activation's checkbox
    wait_ready(page)
    page.get_by_text("Why", exact=True).wait_for()
    assert page.get_by_text("activation requested", exact=False).first.is_visible()
    page.screenshot(path=str(SHOTS / "pages_models_history_1440.png"))
    page.close()


def test_the_labels_chart_shows_a_labels_details_on_hover(app: tuple[str, Any]) -> None:
    page = _open(app, "labels")
    wait_for_chart(page)
    chart = page.locator(CHART).first
    chart.scroll_into_view_if_needed()
    # The first label marker's candle, as the chart places it.
    x = chart.evaluate(
        """b => { const c = b.getRootNode().__candleChart;
            const m = c.shownMarkers.find(m => m.detail.includes(' label · '));
            return c.chart.timeScale().timeToCoordinate(m.time); }"""
    )
    cell = page.locator(f"{CHART} table tr td:nth-child(2)").first.bounding_box()
    assert cell is not None and x is not None
    page.mouse.move(cell["x"] + x, cell["y"] + cell["height"] * 0.5)
    page.wait_for_timeout(150)
    legend = chart.evaluate("b => b.querySelector('.cl-legend').innerText")
    assert re.search(r"(BUY|SELL|HOLD) label · confidence \d+ ?% · entry \d\.\d{5}", legend), legend
    page.screenshot(path=str(SHOTS / "pages_labels_chart_1440.png"))
    page.close()


def test_the_label_filters_stay_open_while_filtering_and_say_how_many_are_on(app: tuple[str, Any]) -> None:
    page = _open(app, "labels")
    counted = page.get_by_text(re.compile(r"^\d+ of \d+ labels$")).first
    shown, total = map(int, re.findall(r"\d+", counted.inner_text()))
    assert shown <= total
    page.get_by_role("button", name="Filters").first.click()
    popover = page.locator("[data-testid='stPopoverBody']")
    popover.get_by_role("button", name="HOLD").click()  # HOLD off: one filter on
    wait_ready(page)
    page.get_by_role("button", name=re.compile(r"Filters · 1 on")).wait_for()
    assert popover.is_visible()  # still open: the next filter is one click away
    popover.get_by_role("button", name="SELL").click()  # BUY only now
    counted = page.get_by_text(re.compile(rf"^(?!{shown} of )\d+ of {total} labels$")).first
    counted.wait_for(timeout=15_000)
    fewer = int(re.findall(r"\d+", counted.inner_text())[0])
    assert fewer < shown and popover.is_visible()
    page.close()


def test_trainings_form_and_its_button_are_above_the_fold_at_1024x768(app: tuple[str, Any]) -> None:
    """The form opens from its button in the header, whole: its start button within the
    window and no control cut off."""
    url, chrome = app
    page = chrome.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"{url}/training?{EURUSD}")
    wait_ready(page)
    assert page.get_by_role("button", name="Start training").count() == 0  # closed: not drawn at all
    page.get_by_role("button", name=re.compile("^Full training")).click()
    page.get_by_role("button", name="Start training").wait_for()
    # The app's own style (less space above the page) is in the page's HTML, there from the start.
    padding = page.evaluate(
        "() => getComputedStyle(document.querySelector(\"[data-testid='stMainBlockContainer']\")).paddingTop"
    )
    assert padding == "44px"
    button = page.get_by_role("button", name="Start training").bounding_box()
    assert button is not None and button["y"] + button["height"] <= 768, button
    assert not clipped_controls(page)
    page.screenshot(path=str(SHOTS / "training_form_1024.png"))
    page.close()


@pytest.mark.parametrize("page_name", ["models", "training", "labels"])
def test_a_pages_link_connects_at_the_servers_root_without_probing_under_the_page(
    app: tuple[str, Any], page_name: str
) -> None:
    """A tab opened on a page's link connects straight to the server's root: without the route in
    `dashboard/server.py` Streamlit's front end first asks `/<page>/_stcore/health`, gets a 404 and
    backs off before it tries the root."""
    url, chrome = app
    page = chrome.new_page(viewport={"width": 1440, "height": 900})
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{url}/{page_name}?{EURUSD}")
    wait_ready(page)
    page.locator("[data-testid='stMain'] h1").first.wait_for()
    probes = [u for u in asked if "/_stcore/health" in u or "/_stcore/host-config" in u]
    assert probes, asked
    at_root = {f"{url}/_stcore/health", f"{url}/_stcore/host-config"}
    assert all(u.split("?")[0] in at_root for u in probes), probes
    page.close()
