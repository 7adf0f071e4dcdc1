"""Storage faults read like a person wrote them: a read-only database and a full disk, on SQLite.

Real filesystems: the database lives on a small tmpfs the test mounts (remounted read-only, or
filled up). Each fault must end the command with exit 1 and one line naming the file and the
likely fix: no traceback, no SQL, no bound parameters, no crash (SIGBUS included), nothing
half-written.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.api import live
from tests.conftest import GOOG_CSV

DB = "candlelab.db"


def _mount(point: Path, size: str) -> None:
    point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")


def _remount(point: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(point)], check=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "disk"
    _mount(point, "3m")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def _run(home: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=home,
        env={**live.child_env(home), "DATABASE_URL": f"sqlite:///{db}"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_clean_line(run: subprocess.CompletedProcess[str], *, says: str, names: str) -> None:
    assert run.returncode == 1, (run.returncode, run.stderr[-2000:])  # not -7 (SIGBUS): no crash
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0] and names in errors[0], run.stderr[-2000:]
    for leak in ("Traceback", "INSERT", "UPDATE ", "SELECT", "[SQL", "parameters", "sqlalchemy"):
        assert leak not in run.stderr, (leak, run.stderr[-2000:])


def _counts(db: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        bars = conn.execute("SELECT count(*) FROM bars").fetchone()[0]
        tokens = conn.execute("SELECT count(*) FROM api_tokens").fetchone()[0]
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()  # an open file keeps the disk from being remounted read-only
    return bars, tokens, ok


@pytest.fixture
def home_with_db(home: Path, disk: Path) -> tuple[Path, Path]:
    """GOOG daily bars in a database on the small disk; everything else in the test's home."""
    db = disk / DB
    run = _run(home, db, "data", "import", str(GOOG_CSV), "--symbol", "GOOG", "--timeframe", "1d", "--json")
    assert run.returncode == 0, run.stderr
    return home, db


def test_a_read_only_database_is_one_line_and_nothing_changes(
    home_with_db: tuple[Path, Path], disk: Path
) -> None:
    home, db = home_with_db
    before = _counts(db)
    _remount(disk, "ro")
    try:
        for args in (
            ("tokens", "create", "--name", "ro-1", "--scopes", "read"),
            ("train", "--symbol", "GOOG", "--timeframe", "1d", "--bots", "xgb_agent", "--labeler", "rules"),
            ("data", "import", str(GOOG_CSV), "--symbol", "GOOG2", "--timeframe", "1d"),
        ):
            _one_clean_line(_run(home, db, *args), says="read-only", names=DB)
    finally:
        _remount(disk, "rw")
    assert _counts(db) == before


def test_a_full_disk_is_one_line_and_nothing_is_half_written(
    home_with_db: tuple[Path, Path], disk: Path, tmp_path: Path
) -> None:
    home, db = home_with_db
    before = _counts(db)
    # Fill the disk but for a little, then import more bars than that little holds.
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    filler.write_bytes(b"\0" * max(0, free - 64 * 1024))
    rows = 60_000
    stamps = pd.date_range("1990-01-01", periods=rows, freq="h")
    prices = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, rows))
    frame = pd.DataFrame(
        {
            "Date": stamps,
            "Open": prices,
            "High": prices + 1,
            "Low": prices - 1,
            "Close": prices,
            "Volume": 1000,
        }
    )
    big = tmp_path / "big.csv"
    frame.to_csv(big, index=False)
    run = _run(home, db, "data", "import", str(big), "--symbol", "BIG", "--timeframe", "1h")
    filler.unlink()
    _one_clean_line(run, says="full", names=DB)
    assert _counts(db) == before  # the import rolled back whole: no bar of BIG, GOOG as it was


def _fill(disk: Path) -> Path:
    """Fill the disk to its last byte."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_an_api_client_reads_the_fault_by_file_name_only(home_with_db: tuple[Path, Path], disk: Path) -> None:
    home, db = home_with_db
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    token = live.create_token(home, "desk", "read,train", env=env)
    with live.serve(home, env=env) as server, server.client(token) as client:
        filler = _fill(disk)
        try:
            pair = {"symbol": "GOOG", "timeframe": "1d", "force": True}
            reply = client.post("/api/ai-training/trigger-for-active-symbol", json=pair)
        finally:
            filler.unlink()
        assert server.process.poll() is None  # the server lives on
        jobs = client.get("/api/ai-training/status").json()["jobs"]
    assert reply.status_code == 500, reply.text
    error = reply.json()["error"]
    assert error["type"] == "operational_error" and "disk holding candlelab.db is full" in error["message"], (
        error
    )
    assert str(disk) not in reply.text and "INSERT" not in reply.text and "[SQL" not in reply.text
    assert jobs == []  # nothing half-written
