"""A throwaway PostgreSQL server for tests: initdb in a temp dir, a free port, torn down after.

`temporary_server()` yields the URL of a fresh server. `TemplateServer` is the one server of a
test session: it migrates a template database once, and every test gets its own database with
`CREATE DATABASE … TEMPLATE candlelab_template` (a file copy, far faster than migrating again).
"""

from __future__ import annotations

import glob
import itertools
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.support.servers import free_port

TEMPLATE = "candlelab_template"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    return _pg_bin("initdb") is not None and _pg_bin("pg_ctl") is not None


@contextmanager
def temporary_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty PostgreSQL database on 127.0.0.1."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    assert initdb and pg_ctl
    root = Path(tempfile.mkdtemp(prefix="candlelab-pg-"))
    data = root / "data"
    # PostgreSQL refuses to run as root; run the server as the `postgres` system user then.
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
        root.chmod(0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "candlelab"], check=True, capture_output=True
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://candlelab@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class TemplateServer:
    """One server per session; a migrated template; a fresh database per test.

    Copying the template costs a checkpoint (a few hundred ms on a busy machine), so a background
    thread keeps the next copies ready while tests run.
    """

    READY_AHEAD = 2

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self._names = itertools.count(1)
        self._template_ready = False
        self._template_lock = threading.Lock()
        self._ready: queue.Queue[str] = queue.Queue(maxsize=self.READY_AHEAD)
        self._stop = threading.Event()
        self._filler: threading.Thread | None = None
        self._error: BaseException | None = None
        self._finished: queue.Queue[str] = queue.Queue()

    def url_of(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def _ensure_template(self) -> None:
        # Migrated on first use, so a session that needs only empty databases never pays for it.
        with self._template_lock:
            if self._template_ready:
                return
            from core.db import migrate
            from core.db.database import Database

            self._execute(f"CREATE DATABASE {TEMPLATE}")
            db = Database(self.url_of(TEMPLATE))
            try:
                migrate.upgrade(db)
            finally:
                db.dispose()  # a template must have no open connections to be copied
            self._template_ready = True

    def _copy_template(self) -> str:
        name = f"t_{os.getpid()}_{next(self._names)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return name

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                self._drop_finished()
                name = self._copy_template()
                while not self._stop.is_set():
                    try:
                        self._ready.put(name, timeout=0.2)
                        break
                    except queue.Full:
                        self._drop_finished()
        except BaseException as exc:  # reported to the next test that asks for a database
            self._error = exc

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database: a copy of the migrated template, or empty (`migrated=False`)."""
        if not migrated:
            name = f"t_{os.getpid()}_{next(self._names)}"
            self._execute(f"CREATE DATABASE {name} TEMPLATE template0")
            return self.url_of(name)
        self._ensure_template()
        if self._filler is None:
            self._filler = threading.Thread(target=self._fill, name="pg-template-copies", daemon=True)
            self._filler.start()
        for _ in range(600):
            if self._error is not None:
                raise RuntimeError(f"copying the template database failed: {self._error}")
            try:
                return self.url_of(self._ready.get(timeout=0.2))
            except queue.Empty:
                continue
        raise TimeoutError("no template copy became ready in 120 s")

    def drop_database(self, url: str) -> None:
        """Drop a test's database; the background thread does it when there is one."""
        name = url.rsplit("/", 1)[1]
        if self._filler is None or not self._filler.is_alive():
            self._drop(name)
        else:
            self._finished.put(name)

    def _drop(self, name: str) -> None:
        # FORCE ends connections a test's child processes may have left behind.
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _drop_finished(self) -> None:
        while True:
            try:
                self._drop(self._finished.get_nowait())
            except queue.Empty:
                return

    def close(self) -> None:
        self._stop.set()
        if self._filler is not None:
            self._filler.join(timeout=30)
        self._admin.dispose()


@contextmanager
def template_server() -> Iterator[TemplateServer]:
    with temporary_server() as url:
        server = TemplateServer(url)
        try:
            yield server
        finally:
            server.close()
