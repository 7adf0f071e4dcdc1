"""The dashboard as an ASGI app: Streamlit's own server, plus one answer for every page's link.

`streamlit run dashboard/server.py` (the Makefile's and the tests' entry point) finds `app` and
serves it with Streamlit's uvicorn runner; `dashboard/app.py` is the script, unchanged.

Why a route of our own: a tab opened on a page's link (`/models`, `/training?symbol=…`) cannot
tell from its URL where the server's root is, so Streamlit's front end first probes
`/models/_stcore/health`, gets a 404, backs off and only then finds `/_stcore/health`: about
130 ms of every deep link spent waiting (measured in Chromium, 2 cores). Streamlit's front end reads
its embedding options from `window.__streamlit` (the hook hosts use to point it at a backend), so
the page's HTML here names the root up front. The HTML is Streamlit's own `index.html`, read once;
every other path (the root, assets, the websocket, media, sign-in) is Streamlit's as before.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from streamlit import config, file_util

SCRIPT = Path(__file__).with_name("app.py")
PAGES = Path(__file__).resolve().parent.parent / "pages"


def page_paths(pages: Path = PAGES) -> list[str]:
    """The URL path of every page other than the default (`st.Page` names it after its file)."""
    return sorted(p.stem for p in pages.glob("*.py") if p.stem not in {"__init__", "chart"})


@functools.cache
def page_html(base_path: str) -> str:
    """Streamlit's `index.html` with the server's root named before its bundle loads."""
    html = (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")
    root = "/" + "/".join(part for part in base_path.split("/") if part)
    root = root.rstrip("/") + "/"
    hook = (
        "<script>window.__streamlit = "
        f"{{BACKEND_BASE_URL: new URL({json.dumps(root)}, location.origin).href}};</script>"
    )
    return html.replace("<head>", "<head>\n    " + hook, 1)


async def _page(request: Request) -> HTMLResponse:
    html = page_html(config.get_option("server.baseUrlPath") or "")
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


def _routes() -> list[Route]:
    base = "/".join(part for part in (config.get_option("server.baseUrlPath") or "").split("/") if part)
    prefix = f"/{base}" if base else ""
    return [Route(f"{prefix}/{path}", _page, methods=["GET", "HEAD"]) for path in page_paths()]


app = st.App(SCRIPT, routes=_routes())
