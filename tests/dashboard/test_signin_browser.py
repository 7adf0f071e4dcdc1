"""Sign-in end to end: the real app in headless Chromium signs in through a real OpenID Connect
provider on 127.0.0.1 (`oidc-provider-mock`). A viewer reads but cannot activate (the control is
disabled and the service refuses a direct call); an admin activates, the activation history and
the audit log name them, and signing out ends the session. Text from the LLM renders inert: a
label whose reasoning and rejection reason hold Markdown images, links, raw HTML and bare URLs
pointing at a local HTTP server makes the browser send that server no request. One provider and
one app start for the module.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from core.access import audit
from core.access.audit import AuditFilter
from core.context import Context
from core.db.database import forget_database
from core.db.models import Label
from core.errors import Forbidden
from core.registry.activation import history
from core.registry.versions import list_versions
from core.requests import ActivateRequest
from core.services import access, models
from core.views.labels import labels_table
from core.views.overlays import latest_label_set_id
from tests.conftest import make_settings
from tests.dashboard.conftest import QUICK_ENV
from tests.dashboard.live import browser, require_chromium, serve, wait_ready
from tests.fakes.oidc_provider import oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

VIEWER = {"sub": "viewer@desk.test", "email": "viewer@desk.test", "name": "Vera Viewer"}
ADMIN = {"sub": "ada@desk.test", "email": "ada@desk.test", "name": "Ada Admin"}


@dataclass
class Desk:
    url: str
    ctx: Context
    chrome: Any


@pytest.fixture(scope="module")
def desk(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    path = require_chromium()
    home = tmp_path_factory.mktemp("signin") / "home"
    shutil.copytree(trained_template, home)
    with oidc_provider([VIEWER, ADMIN], home.parent / "oidc.log") as issuer:
        (home / ".streamlit").mkdir()
        (home / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n"
            'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "browser-test-cookie-secret-0123456789"\n'
            'client_id = "candlelab"\n'
            'client_secret = "browser-test-client-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        )
        env = {**QUICK_ENV, "ADMIN_EMAILS": ADMIN["email"]}
        ctx = Context.create(make_settings(home), logs=False)
        try:
            with serve(home, env) as url, browser(path) as chrome:
                yield Desk(url, ctx, chrome)
        finally:
            forget_database(ctx.settings.db_url)


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


def _sign_in(desk: Desk, who: dict[str, str]) -> Any:
    """A fresh browser profile signs in as `who` through the provider's form."""
    context = desk.chrome.new_context(viewport={"width": 1500, "height": 1400}, accept_downloads=True)
    # Tables are drawn on a canvas; their own "Download as CSV" is how a test reads what they show.
    # Without the save-file picker (which headless Chromium cannot answer) it is a plain download.
    context.add_init_script("delete window.showSaveFilePicker")
    page = context.new_page()
    page.goto(f"{desk.url}/?symbol=GOOG&tf=1d")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=20_000)
    page.get_by_role("button", name=who["sub"]).click()  # the provider's form: pick the user
    page.get_by_text(f"Role: {'admin' if who is ADMIN else 'viewer'}").wait_for(timeout=30_000)
    wait_ready(page)
    return page


def _open_models(page: Any) -> None:
    page.get_by_role("link", name="Models").click()
    page.get_by_text("Activation history").wait_for(timeout=30_000)
    wait_ready(page)
    page.locator("[data-testid='stDataFrame']").first.click(position={"x": 18, "y": 35 + 17})  # row v2
    wait_ready(page)


def _table_csv(page: Any, grid: Any) -> str:
    grid.scroll_into_view_if_needed()
    grid.hover()
    with page.expect_download(timeout=20_000) as download:
        # Dispatched, not clicked: on a busy machine the grid's own scroller can sit over its
        # hover toolbar for the whole click timeout, though the button is visible and enabled.
        grid.get_by_role("button", name="Download as CSV").dispatch_event("click")
    return Path(download.value.path()).read_text(encoding="utf-8-sig")


def _active(ctx: Context) -> list[int]:
    return [v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active]


def test_a_viewer_reads_but_cannot_activate(desk: Desk) -> None:
    page = _sign_in(desk, VIEWER)
    assert "Vera Viewer" in page.locator("[data-testid='stSidebar']").inner_text()
    assert page.get_by_role("link", name="Audit").count() == 0  # not in a viewer's navigation
    _open_models(page)
    button = page.get_by_role("button", name="Activate xgb_agent v2")
    button.wait_for(timeout=20_000)
    assert button.is_disabled()
    button.hover(force=True)
    page.get_by_text("needs the admin role; your role is viewer").first.wait_for(timeout=10_000)
    # The same request straight to the service, as this user: refused and audited.
    viewer = access.signed_in_user(desk.ctx, email=VIEWER["email"], subject=VIEWER["sub"])
    assert viewer is not None and viewer.role == "viewer"
    with pytest.raises(Forbidden):
        models.activate(desk.ctx, viewer, ActivateRequest(version_id=2))
    assert _active(desk.ctx) == [1]
    refused = audit.entries(desk.ctx.db, AuditFilter(actor=VIEWER["email"]))
    assert [(r.action, r.outcome) for r in refused] == [("activate", "refused")]
    page.goto(f"{desk.url}/audit")  # a direct URL to an admin page does not open it
    wait_ready(page)
    assert page.get_by_role("heading", name="Audit log").count() == 0
    page.context.close()


def test_an_admin_activates_is_named_in_the_history_and_signs_out(desk: Desk) -> None:
    page = _sign_in(desk, ADMIN)
    _open_models(page)
    page.get_by_role("button", name="Activate xgb_agent v2").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Activate", exact=True).click()
    page.get_by_text("xgb_agent v2 active").wait_for(timeout=30_000)
    assert _active(desk.ctx) == [2]
    assert history(desk.ctx.db, "GOOG", "1d", "xgb_agent")[0]["actor"] == ADMIN["email"]
    tables = page.locator("[data-testid='stDataFrame']")
    expect(tables).to_have_count(2, timeout=30_000)  # the versions, then (once drawn) the history
    shown = _table_csv(page, tables.last)
    assert shown.splitlines()[0].endswith(",By") and shown.splitlines()[1].endswith(f",{ADMIN['email']}")
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("heading", name="Audit log").wait_for(timeout=30_000)
    wait_ready(page)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's own logout page
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    page.goto(f"{desk.url}/models")
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    assert page.get_by_text("Activation history").count() == 0
    page.context.close()


def test_llm_text_never_makes_the_browser_fetch(desk: Desk, tracker: Tracker) -> None:
    base = f"http://127.0.0.1:{tracker.server_address[1]}"
    set_id = latest_label_set_id(desk.ctx, "GOOG", "1d")
    assert set_id is not None
    first = int(labels_table(desk.ctx, set_id)["id"].iloc[0])  # the first row of the Labels table
    with desk.ctx.db.session() as session:  # shown rejected, so its reason is on the page too
        session.execute(
            update(Label)
            .where(Label.id == first)
            .values(reasoning=_hostile(base), status="rejected", reject_reason=_hostile(base))
        )
    page = _sign_in(desk, VIEWER)  # reading labels is a viewer's right
    page.get_by_role("link", name="Labels").click()
    page.get_by_role("heading", name="Labels · GOOG · 1d").wait_for(timeout=60_000)
    wait_ready(page)
    page.get_by_role("button", name="Filters").first.click()
    page.locator("[data-testid='stPopoverBody']").get_by_text("Show rejected").click()
    page.get_by_role("button", name=re.compile(r"Filters · 1 on")).wait_for(timeout=30_000)
    wait_ready(page)
    page.keyboard.press("Escape")  # the filters close: the table's first row is in the clear
    page.locator("[data-testid='stPopoverBody']").wait_for(state="hidden")
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
    page.context.close()
