"""The real app in a real browser: start `streamlit run` on a free port and drive Debian's Chromium.

Shared by the end-to-end test and `bench/dashboard.py`. Chromium comes from the system package
(`apt-get install chromium`); nothing here downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import servers
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
APP_READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def require_chromium() -> str:
    """Chromium's path; a browser test without it is skipped, or fails where CI demands a browser."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CANDLELAB_REQUIRE_BROWSER") == "1":
            pytest.fail(
                "Chromium is required (CANDLELAB_REQUIRE_BROWSER=1) but missing: apt-get install chromium"
            )
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


@contextlib.contextmanager
def serve(home: Path, env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """Run the dashboard against `home` until the block ends; yields its base URL."""
    port = free_port()
    # Streamlit reads `.streamlit/config.toml` from the working directory: the repo's (dark theme,
    # XSRF on, minimal toolbar) applies here too, while cwd stays `home` so no stray .env is read.
    (home / ".streamlit").mkdir(exist_ok=True)
    shutil.copy(REPO / ".streamlit" / "config.toml", home / ".streamlit" / "config.toml")
    # The app imports `dashboard` and `core` from this checkout, whatever the environment says.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    child_env = {**os.environ, "PYTHONPATH": path, "CANDLELAB_HOME": str(home), **(env or {})}
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "server.py")]
    command += ["--server.port", str(port), "--server.headless", "true", "--server.address", "127.0.0.1"]
    with servers.serve(
        command,
        ready=lambda: servers.answers(f"{url}/_stcore/health"),
        log=home / "streamlit.log",
        name="streamlit",
        env=child_env,
        cwd=home,
        timeout=timeout,
        interval=0.2,
        stop_timeout=15,
    ):
        yield url


@contextlib.contextmanager
def browser(executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def wait_ready(page: Any, timeout_ms: float = 60_000) -> None:
    """The app has rendered and its script is not running."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_selector(APP_READY, timeout=timeout_ms)


CHART = ".cl-chart[data-candles]"  # the candle component (dashboard/lwchart.js) once it holds its data


def wait_for_chart(page: Any, min_candles: int = 1, timeout_ms: float = 60_000, exact: bool = False) -> None:
    """The candle chart is drawn, with its indicators, holding at least (`exact`: exactly) `min_candles`."""
    deadline = time.monotonic() + timeout_ms / 1000
    box = page.locator(CHART).first
    box.wait_for(timeout=timeout_ms)
    while True:
        held = int(box.get_attribute("data-candles") or 0)
        if (held == min_candles) if exact else (held >= min_candles):
            return
        if time.monotonic() > deadline:
            wanted = f"{'' if exact else 'at least '}{min_candles}"
            raise TimeoutError(f"the chart holds {held} candles, not {wanted}")
        page.wait_for_timeout(50)


def chart_state(page: Any) -> dict[str, Any]:
    """What the candle chart shows: candles held, the visible logical range, panes, price format."""
    return page.locator(CHART).first.evaluate(
        """box => {
            const c = box.getRootNode().__candleChart;
            const r = c.chart.timeScale().getVisibleLogicalRange();
            return {
                candles: c.times.length,
                from: r ? r.from : null,
                to: r ? r.to : null,
                panes: c.chart.panes().length,
                decimals: c.meta.decimals,
                key: c.meta.key,
                legend: box.querySelector(".cl-legend").innerText,
                drawnMs: Number(box.dataset.drawnMs),
                view: c.view,
            };
        }"""
    )
