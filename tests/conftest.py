"""Shared fixtures: every test gets its own CANDLELAB_HOME with a real SQLite file."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.context import Context
from core.db.database import forget_database
from core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
# Tests read the shared copy; the bundled data/GOOG_1d.csv must equal it (a test checks that).
GOOG_CSV = (
    SHARED_DATA / "GOOG_1d.csv" if (SHARED_DATA / "GOOG_1d.csv").exists() else REPO / "data" / "GOOG_1d.csv"
)

# Variables that would leak a developer's real configuration into a test.
_ISOLATE_PREFIXES = ("FREDDY_", "OPENAI_", "LLM_", "CANDLELAB_HOME", "DATABASE_URL", "MARKET_DATA", "QT_AI_")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_ISOLATE_PREFIXES):
            monkeypatch.delenv(name, raising=False)


def make_settings(home: Path, **overrides: object) -> Settings:
    """Settings for a test: no .env file, a private home, any overrides given."""
    return Settings(_env_file=None, candlelab_home=home, **overrides)  # type: ignore[call-arg]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return make_settings(home)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = Context.create(settings, logs=False)
    yield context
    forget_database(settings.db_url)


@pytest.fixture
def goog_ctx(ctx: Context) -> Context:
    """A context whose store holds the real GOOG daily history."""
    from core.data import service

    service.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    return ctx


@pytest.fixture
def goog_csv(tmp_path: Path) -> Path:
    target = tmp_path / "GOOG_1d.csv"
    shutil.copy(GOOG_CSV, target)
    return target


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout must be exactly one JSON document (CONTRACTS §1)."""
        return json.loads(self.out)


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Run `python -m core …` in-process against this test's home; returns a CliRun."""
    from core.cli import main
    from core.logging_setup import reset_logging

    monkeypatch.setenv("CANDLELAB_HOME", str(home))
    monkeypatch.chdir(home)  # no stray .env from the developer's checkout

    def run(*args: str) -> CliRun:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    yield run
    reset_logging()
    forget_database(make_settings(home).db_url)
