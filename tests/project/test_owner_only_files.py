"""Local files under CANDLELAB_HOME are readable by their owner only: 0600 files, 0700 folders."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import context as context_module
from core.artifacts.base import new_key
from core.context import Context
from core.db.database import forget_database
from core.logging_setup import reset_logging
from tests.conftest import REPO, make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(home: Path) -> None:
    """Every file and folder under `home` is the owner's alone."""
    found = list(home.rglob("*"))
    assert {p.name for p in found} >= {"candlelab.db", "logs", "backend.log", "models"}
    for path in [home, *found]:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path.relative_to(home.parent)} is {oct(mode(path))}"


@pytest.fixture
def loose_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The most permissive umask, and no umask from the entry point: explicit modes must hold alone."""
    monkeypatch.setattr(context_module, "restrict_umask", lambda: None)
    previous = os.umask(0)
    yield
    os.umask(previous)


def _use_installation(home: Path) -> None:
    ctx = Context.create(make_settings(home))
    try:
        ctx.artifacts.write(new_key(1), {"meta.json": b"{}", "weights.bin": b"\x00" * 64})
        logging.getLogger("core.test").info("written")
        with ctx.db.engine.begin() as conn:  # a write, so SQLite makes its WAL and SHM files
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")
        assert (home / "candlelab.db-wal").exists()
        assert_private(home)
    finally:
        reset_logging()
        forget_database(ctx.settings.db_url)


def test_a_new_installation_is_private_whatever_the_umask(home: Path, loose_umask: None) -> None:
    home.rmdir()  # created by CandleLab itself
    _use_installation(home / "nested" / "home")
    assert mode(home / "nested") == 0o700  # folders made on the way are private too


def test_an_existing_loose_installation_is_tightened_on_start(home: Path, loose_umask: None) -> None:
    for folder in (home, home / "logs", home / "models"):
        folder.mkdir(exist_ok=True)
        folder.chmod(0o755)
    for file in (home / "candlelab.db", home / "logs" / "backend.log"):
        file.touch()
        file.chmod(0o644)
    _use_installation(home)


def test_entry_points_make_every_file_private(home: Path, tmp_path: Path) -> None:
    """The CLI sets the umask too, so files other modules create under the home are private."""
    script = (
        "import os, sys; os.umask(0o022); from core.cli import main; rc = main(['db', 'upgrade', '--json']);"
        "open(os.path.join(sys.argv[1], 'logs', 'job-1.log'), 'w').write('x'); sys.exit(rc)"
    )
    env = {**os.environ, "CANDLELAB_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script, str(home)], env=env, cwd=tmp_path, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert mode(home / "logs" / "job-1.log") == 0o600 and mode(home / "candlelab.db") == 0o600
    assert mode(home) == 0o700 and mode(home / "logs") == 0o700
