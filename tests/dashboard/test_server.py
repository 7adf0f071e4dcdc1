"""The dashboard's ASGI app (`dashboard/server.py`): every page's link gets Streamlit's own page,
with the server's root named before the front end's bundle loads."""

from __future__ import annotations

import re

from dashboard.server import page_html, page_paths
from tests.conftest import REPO


def test_every_page_but_the_default_has_its_route() -> None:
    stems = {p.stem for p in (REPO / "pages").glob("*.py")} - {"__init__", "chart"}
    assert page_paths() == sorted(stems)
    assert {"models", "training", "labels", "audit"} <= set(page_paths())


def test_the_root_is_named_before_any_other_script() -> None:
    html = page_html("")
    first = re.search(r"<script\b[^>]*>", html)
    assert first is not None and first.group(0) == "<script>"
    hook = 'window.__streamlit = {BACKEND_BASE_URL: new URL("/", location.origin)'
    assert html[first.end() :].startswith(hook)
    assert html.count("window.__streamlit") == 1


def test_a_base_url_path_is_part_of_the_root() -> None:
    assert 'new URL("/desk/", location.origin)' in page_html("/desk/")
    assert 'new URL("/a/b/", location.origin)' in page_html("a/b")


def test_the_apps_style_is_in_the_head() -> None:
    html = page_html("")
    head = html[: html.index("</head>")]
    assert "<style>[data-testid='stMainBlockContainer']{padding-top:2.75rem !important}" in head
    assert "stToastContainer" in head
