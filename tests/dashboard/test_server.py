"""The dashboard's ASGI app (`dashboard/server.py`): every page's link gets Streamlit's own page,
with the server's root named before the front end's bundle loads."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.server import page_html, page_paths, routes
from tests.conftest import REPO


def test_every_page_but_the_default_has_its_route() -> None:
    stems = {p.stem for p in (REPO / "pages").glob("*.py")} - {"__init__", "chart"}
    assert page_paths() == sorted(stems)
    assert {"models", "training", "labels", "audit"} <= set(page_paths())


def test_the_root_is_named_before_any_other_script() -> None:
    html = page_html("")
    assert html is not None
    first = re.search(r"<script\b[^>]*>", html)
    assert first is not None and first.group(0) == "<script>"
    hook = 'window.__streamlit = {BACKEND_BASE_URL: new URL("/", location.origin)'
    assert html[first.end() :].startswith(hook)
    assert html.count("window.__streamlit") == 1


def test_a_base_url_path_is_part_of_the_root_and_of_every_route() -> None:
    assert 'new URL("/desk/", location.origin)' in (page_html("/desk/") or "")
    assert 'new URL("/a/b/", location.origin)' in (page_html("a/b") or "")
    assert [r.path for r in routes("desk")][:2] == ["/desk", "/desk/access"]
    assert [r.path for r in routes("")][:2] == ["/", "/access"]


def test_without_streamlits_page_every_path_stays_streamlits(tmp_path: Path) -> None:
    """A Streamlit whose `index.html` moved or changed shape: no route of ours, the app as shipped."""
    assert routes("", tmp_path / "index.html") == []
    odd = tmp_path / "odd.html"
    odd.write_text("<html><body>no head here</body></html>", encoding="utf-8")
    assert routes("", odd) == []


def test_the_apps_style_is_in_the_head() -> None:
    html = page_html("") or ""
    head = html[: html.index("</head>")]
    assert "<style>[data-testid='stMainBlockContainer']{padding-top:2.75rem !important}" in head
    assert "stToastContainer" in head
