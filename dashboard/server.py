"""The dashboard as an ASGI app: Streamlit's own server, plus our own HTML for every page's link.

`streamlit run dashboard/server.py` (the Makefile's and the tests' entry point) finds `app` and
serves it with Streamlit's uvicorn runner; `dashboard/app.py` is the script, unchanged.

Why a route of our own: a tab opened on a page's link (`/models`, `/training?symbol=…`) cannot
tell from its URL where the server's root is, so Streamlit's front end first probes
`/models/_stcore/health`, gets a 404, backs off and only then finds `/_stcore/health`: about
130 ms of every deep link spent waiting (measured in Chromium, 2 cores). Streamlit's front end reads
its embedding options from `window.__streamlit` (the hook hosts use to point it at a backend), so
the page's HTML here names the root up front. The HTML is Streamlit's own `index.html`, read once;
every other path (assets, the websocket, media, sign-in) is Streamlit's as before.

The app's few style rules ride in the same HTML (`APP_STYLE`): drawn by an `st.html` element they
arrived with its lazily loaded script, after the page had been laid out once (a visible jump),
and cost every page that element.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

SCRIPT = Path(__file__).with_name("app.py")
PAGES = Path(__file__).resolve().parent.parent / "pages"
log = logging.getLogger(__name__)


def page_paths(pages: Path = PAGES) -> list[str]:
    """The URL path of every page other than the default (`st.Page` names it after its file)."""
    return sorted(p.stem for p in pages.glob("*.py") if p.stem not in {"__init__", "chart"})


# Less blank space above every page (Streamlit's default leaves 6rem): the chart, and Training's
# header and form, fit above the fold at 1024x768. Toasts bottom-right: Streamlit draws them
# top-right, over the header row's buttons (the chart's Retrain now) for seconds. `!important`
# because Streamlit's own rules are inserted after this one.
APP_STYLE = (
    "[data-testid='stMainBlockContainer']{padding-top:2.75rem !important}"
    "[data-testid='stToastContainer']{top:auto !important;bottom:1rem !important}"
)


INDEX = Path(st.__file__).parent / "static" / "index.html"  # the front end's page, as Streamlit ships it


def _parts(base_path: str) -> list[str]:
    return [part for part in base_path.split("/") if part]


@functools.cache
def page_html(base_path: str, index: Path = INDEX) -> str | None:
    """Streamlit's `index.html` with the server's root named before its bundle loads, and the app's
    style; None when that page is not where, or not what, this module expects."""
    try:
        html = index.read_text(encoding="utf-8")
    except OSError:
        return None
    if html.count("<head>") != 1:
        return None
    root = "/" + "/".join([*_parts(base_path), ""])
    hook = (
        "<script>window.__streamlit = "
        f"{{BACKEND_BASE_URL: new URL({json.dumps(root)}, location.origin).href}};</script>"
    )
    return html.replace("<head>", f"<head>\n    {hook}\n    <style>{APP_STYLE}</style>", 1)


def routes(base_path: str, index: Path = INDEX) -> list[Route]:
    """The root and every page's path under `base_path`; none (Streamlit serves them all, as
    without this module) if its `index.html` cannot be read or has changed shape."""
    html = page_html(base_path, index)
    if html is None:
        log.warning("%s is missing or unexpected: pages are served without the app's HTML", index)
        return []

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    prefix = "".join(f"/{part}" for part in _parts(base_path))
    paths = [prefix or "/", *(f"{prefix}/{path}" for path in page_paths())]
    return [Route(path, page, methods=["GET", "HEAD"]) for path in paths]


app = st.App(SCRIPT, routes=routes(st.get_option("server.baseUrlPath") or ""))
