"""Shared fixtures: every test gets its own CANDLELAB_HOME with a real SQLite file.

A module (or test) marked `@pytest.mark.backends("sqlite", "postgresql")` runs once per database:
on PostgreSQL, `DATABASE_URL` points at a fresh database copied from the session's migrated
template, so every `Settings` the test builds, in-process or in a child process, uses it.
`backends("postgresql")` runs a test on PostgreSQL only; the `postgres_server` fixture gives
direct access to the session's server. Without server binaries the PostgreSQL runs skip, unless
`CANDLELAB_REQUIRE_POSTGRES=1` (set by `.ci/run`) makes them fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.context import Context
from core.db.database import forget_database
from core.settings import Settings
from tests import postgres, s3

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
# Tests read the shared copy; the bundled data/GOOG_1d.csv must equal it (a test checks that).
GOOG_CSV = (
    SHARED_DATA / "GOOG_1d.csv" if (SHARED_DATA / "GOOG_1d.csv").exists() else REPO / "data" / "GOOG_1d.csv"
)

# Variables that would leak a developer's real configuration into a test.
_ISOLATE_PREFIXES = (
    *("FREDDY_", "OPENAI_", "LLM_", "CANDLELAB_HOME", "DATABASE_URL", "MARKET_DATA", "QT_AI_"),
    *("ARTIFACT_", "AWS_", "JOB_EXECUTOR", "DASK_"),
)
BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each core already runs a worker, so each trains on one thread (its child
    processes inherit it): two threads per worker would have four fight over two cores.

    Their job bodies also keep the workers' priority: a body yields the cores to pages (JOB_NICE),
    but here the other worker is a test, not a page, and a test waiting on its job would wait on
    every other test's training. `tests/jobs/local` checks the yielding with JOB_NICE set.
    """
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("TRAINING_THREADS", "1")
        os.environ.setdefault("JOB_NICE", "0")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_ISOLATE_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Put back the process's `__main__` after each test.

    Streamlit's script runner (AppTest) makes the app script the `__main__` module and leaves it
    there; a later test in the same process that starts `multiprocessing` "spawn" children would
    make each child run the whole dashboard script first.
    """
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: only there when it is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `-n`, tests go out one by one, but those that share an expensive fixture (the Dask
    cluster, a module-scoped desk or server) stay together on one worker."""
    if config.getvalue("dist") != "load":
        return None  # an explicit --dist keeps its own meaning
    from tests.support.scheduling import SharedFixtureScheduling

    return SharedFixtureScheduling(config, log)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests marked `backends(...)` once per named database (both when none is named)."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "db_backend" in metafunc.fixturenames:
        names = marker.args or BACKENDS
        unknown = set(names) - set(BACKENDS)
        assert not unknown, f"unknown database backend(s) {sorted(unknown)}; use {BACKENDS}"
        metafunc.parametrize("db_backend", names, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.TemplateServer]:
    """The session's PostgreSQL server, started on first use."""
    if not postgres.available():
        message = "no PostgreSQL server binaries on this machine"
        if os.environ.get("CANDLELAB_REQUIRE_POSTGRES"):
            pytest.fail(f"CANDLELAB_REQUIRE_POSTGRES is set but there are {message}", pytrace=False)
        pytest.skip(message)
    with postgres.template_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[s3.S3Server]:
    """A local S3-compatible server (moto) for the session, started on first use."""
    with s3.temporary_server() as server:
        yield server


@pytest.fixture(autouse=True)
def db_backend(request: pytest.FixtureRequest, _isolated_env: None) -> Iterator[str]:
    """The database of this test: SQLite in its home, or a fresh PostgreSQL database."""
    name = getattr(request, "param", "sqlite")
    if name != "postgresql":
        yield name
        return
    server: postgres.TemplateServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        yield name
    forget_database(url)
    server.drop_database(url)


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
    from core.data import supply

    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
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
