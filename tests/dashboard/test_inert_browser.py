"""Text from the LLM renders inert in a real browser, and the local default needs no sign-in.

A label's reasoning and its rejection reason hold Markdown images, links, raw HTML and bare URLs
that all point at a local HTTP server; the Labels page shows that label in full in headless
Chromium, and the server must record no request at all. The app runs as on `make run`: no
`[auth]`, served on 127.0.0.1, so the local admin sees no sign-in screen.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import update

from core.context import Context
from core.db.database import forget_database
from core.db.models import Label
from core.views.labels import labels_table
from core.views.overlays import latest_label_set_id
from tests.conftest import make_settings
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import browser, chromium_path, serve, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


class Tracker(ThreadingHTTPServer):
    """Answers anything with a 1x1 GIF and remembers every path asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Tracker

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        body = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    server = Tracker()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _hostile(base: str) -> str:
    return (
        f"Momentum is strong. ![x]({base}/md-image.png) [read more]({base}/md-link) "
        f'<img src="{base}/html-image.png"> <a href="{base}/html-link">here</a> '
        f"{base}/bare-url <style>body{{background:url({base}/css.png)}}</style> **bold**"
    )


def test_llm_text_never_makes_the_browser_fetch_and_local_needs_no_sign_in(
    trained_template: Path, tmp_path: Path, tracker: Tracker
) -> None:
    path = chromium_path()
    if path is None:
        if os.environ.get("CANDLELAB_REQUIRE_BROWSER") == "1":
            pytest.fail(
                "Chromium is required (CANDLELAB_REQUIRE_BROWSER=1) but missing: apt-get install chromium"
            )
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    home = tmp_path / "home"
    shutil.copytree(trained_template, home)
    base = f"http://127.0.0.1:{tracker.server_address[1]}"
    ctx = Context.create(make_settings(home), logs=False)
    set_id = latest_label_set_id(ctx, "GOOG", "1d")
    assert set_id is not None
    first = int(labels_table(ctx, set_id)["id"].iloc[0])  # the first row of the Labels table
    with ctx.db.session() as session:  # shown rejected, so its reason is on the page too
        session.execute(
            update(Label)
            .where(Label.id == first)
            .values(reasoning=_hostile(base), status="rejected", reject_reason=_hostile(base))
        )
    try:
        with serve(home, QUICK_ENV) as url, browser(path) as chrome:
            page = chrome.new_page(viewport={"width": 1500, "height": 1600})
            page.goto(f"{url}/labels?symbol=GOOG&tf=1d")
            page.get_by_role("heading", name="Labels · GOOG · 1d").wait_for(timeout=60_000)
            wait_ready(page)
            sidebar = page.locator("[data-testid='stSidebar']").inner_text()
            assert "Local admin" in sidebar and page.get_by_role("button", name="Sign in").count() == 0
            page.get_by_text("Show rejected").click()
            wait_ready(page)
            grid = page.locator("[data-testid='stDataFrame']").filter(has=page.locator("canvas")).last
            grid.click(position={"x": 18, "y": 35 + 17})  # the first row: the hostile label
            main = page.locator("[data-testid='stMain']")
            main.get_by_role("tab", name="Raw reply").wait_for(timeout=30_000)  # the label in full
            wait_ready(page)
            time.sleep(2.0)  # time for any fetch the page would make
            assert tracker.seen == [], tracker.seen
            assert main.locator(f"img[src^='{base}']").count() == 0
            assert main.locator(f"a[href^='{base}']").count() == 0
            reasoning = main.locator("[data-testid='stText']", has_text="Momentum is strong.")
            assert "![x](" in reasoning.inner_text()  # shown as the characters it is
            assert main.locator("[data-testid='stAlertContentError'] code").count() == 1
    finally:
        forget_database(ctx.settings.db_url)
