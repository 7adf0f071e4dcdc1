"""`make run` on the embedded defaults serves the dashboard: start it, wait for health, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


def test_make_run_serves_the_app(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CANDLELAB_HOME": str(tmp_path / "home")}
    log = (tmp_path / "make-run.log").open("w")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "make-run.log").read_text()
            try:
                status, body = _get(f"http://127.0.0.1:{port}/_stcore/health")
                if status == 200 and body.strip() == "ok":
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert status == 200, (tmp_path / "make-run.log").read_text()
        code, page = _get(f"http://127.0.0.1:{port}/")
        assert code == 200 and '<div id="root">' in page
        assert (tmp_path / "home" / "candlelab.db").exists()  # migrations and demo data ran first
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
