"""`make run` on the embedded defaults serves the dashboard: start it, wait for health, stop it."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from tests.conftest import REPO
from tests.support import servers


def test_make_run_serves_the_app(tmp_path: Path) -> None:
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    with servers.serve(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        ready=lambda: servers.answers(f"{url}/_stcore/health", body="ok"),
        log=tmp_path / "make-run.log",
        name="make run",
        env={**os.environ, "CANDLELAB_HOME": str(tmp_path / "home")},
        cwd=REPO,
        timeout=180,
        interval=0.5,
        group=True,  # make's children serve; the whole group stops
    ):
        with urllib.request.urlopen(f"{url}/", timeout=5) as response:
            code, page = response.status, response.read().decode("utf-8", "replace")
        assert code == 200 and '<div id="root">' in page
        assert (tmp_path / "home" / "candlelab.db").exists()  # migrations and demo data ran first
