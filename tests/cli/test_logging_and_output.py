"""Logs: one greppable line per event with secrets masked. CLI: stdout is only the JSON document."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from core.logging_setup import configure_logging, reset_logging
from tests.conftest import GOOG_CSV, REPO


def test_log_lines_mask_secrets_and_stay_on_one_line(tmp_path: Path) -> None:
    secret = "sk-live-abcdef123456"
    log_file = configure_logging(tmp_path / "logs", "INFO", [secret])
    try:
        log = logging.getLogger("core.test")
        log.info("Freddy AI called with key %s", secret)
        try:
            raise RuntimeError(f"boom with {secret}\nsecond line")
        except RuntimeError:
            log.exception("AI training failed")
    finally:
        reset_logging()
    text = log_file.read_text()
    assert secret not in text
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert "Freddy AI called with key ***" in lines[0]
    assert "AI training failed" in lines[1] and "Traceback" in lines[1] and "second line" in lines[1]


def test_cli_subprocess_prints_exactly_one_json_document(tmp_path: Path) -> None:
    env = {**os.environ, "CANDLELAB_HOME": str(tmp_path / "home"), "LOG_LEVEL": "DEBUG"}
    cmd = [
        sys.executable,
        "-m",
        "core",
        "data",
        "import",
        str(GOOG_CSV),
        "--symbol",
        "GOOG",
        "--timeframe",
        "1d",
    ]
    done = subprocess.run(
        [*cmd, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # fails on any stray line
    assert doc["rows"] == 2148
    assert "imported 2148 bars" in done.stderr  # logs go to stderr ...
    log_file = tmp_path / "home" / "logs" / "backend.log"
    assert "imported 2148 bars of GOOG 1d" in log_file.read_text()  # ... and to the log file

    bad = subprocess.run(
        [sys.executable, "-m", "core", "data", "fetch", "--symbol", "GOOG", "--timeframe", "9m", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["error"]["message"].startswith("unknown timeframe")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("candlelab")
    assert script.exists(), "pip install -e . installs the `candlelab` console script"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0 and "data" in done.stdout and "db" in done.stdout
