"""Engine and session handling: SQLite in WAL mode with a busy timeout, or any SQLAlchemy URL."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from core import masking
from core.db.faults import check_sqlite_files, storage_fault
from core.errors import BadInput
from core.owner_only import private_dir, private_file

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _private_sqlite_file(path: Path) -> None:
    """The database file exists as 0600 before SQLite opens it: its WAL and SHM files copy its mode."""
    check_sqlite_files(path)
    try:
        private_dir(path.parent)
        private_file(path)
    except OSError as exc:  # a read-only disk, a full one, a directory that cannot be made
        raise storage_fault(exc, f"sqlite:///{path}") or exc from None
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)


def _configure_sqlite(engine: Engine) -> None:
    """WAL lets the dashboard read while a job writes; the busy timeout makes writers queue."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # The sqlite3 driver's own transaction handling would defer BEGIN; SQLAlchemy's
        # documented recipe hands transaction control back to SQLAlchemy instead.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Writers use BEGIN IMMEDIATE: taking the write lock up front means two processes that
        # both read then write queue on the busy timeout instead of failing with SQLITE_BUSY.
        # Readers stay DEFERRED so WAL lets them run beside a writer.
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def _mask_row(row):  # type: ignore[no-untyped-def]
    if isinstance(row, dict):
        return {k: masking.mask(v) if isinstance(v, str) else v for k, v in row.items()}
    if isinstance(row, (list, tuple)):
        return type(row)(masking.mask(v) if isinstance(v, str) else v for v in row)
    return row


def _mask_secrets(engine: Engine) -> None:
    """No configured secret reaches a table, whichever module writes the text (core.masking).

    Every string parameter of every statement passes the one masking function; JSON columns are
    serialised to text before this point, so their strings are covered too. With no secret
    configured (the offline default) the hook returns at once.
    """

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not masking.active() or not parameters:
            return statement, parameters
        # insertmanyvalues (INSERT … RETURNING of many rows) runs as executemany with one mapping.
        if executemany and isinstance(parameters, list | tuple):
            return statement, [_mask_row(row) for row in parameters]
        return statement, _mask_row(parameters)


class Database:
    """Owns one engine and its session factory; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # The column guards (core.db.types) keep NaN out of JSON; this refuses whatever slips past
        # them instead of writing the `NaN` token, which is not JSON and which PostgreSQL rejects.
        kwargs: dict[str, object] = {
            "future": True,
            "json_serializer": functools.partial(json.dumps, allow_nan=False),
        }
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                _private_sqlite_file(Path(path))
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        _mask_secrets(self.engine)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._writer = writer
        self._writers = sessionmaker(writer, expire_on_commit=False)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """The SQL dialect's name: sqlite, postgresql, ..."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._writers() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction on a bare connection, for hot paths that need no ORM session
        (a few statements, no unit of work to flush); committed on success, else rolled back."""
        with self._writer.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction that never waits for writers (WAL snapshot on SQLite)."""
        with self._readers() as session:
            yield session  # closing the session rolls the snapshot back; nothing is written

    def dispose(self) -> None:
        self.engine.dispose()


class UnusableDatabaseURL(BadInput):
    """A URL no installed driver can open (a typo in the scheme, a driver not installed)."""


def open_database(url: str) -> Database:
    """A new, uncached `Database` for `url` (the target of a copy, say), refusing a URL it cannot
    use with `UnusableDatabaseURL` and the driver's reason instead of SQLAlchemy's own error."""
    try:
        return Database(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise UnusableDatabaseURL(str(exc)) from None


_registry: dict[str, Database] = {}
_registry_lock = threading.Lock()


def get_database(url: str) -> Database:
    """One `Database` per URL per process, so every caller shares the connection pool."""
    with _registry_lock:
        db = _registry.get(url)
        if db is None:
            db = _registry[url] = Database(url)
        return db


def forget_database(url: str) -> None:
    """Dispose and drop a cached database (tests that delete their files use this)."""
    with _registry_lock:
        db = _registry.pop(url, None)
    if db is not None:
        db.dispose()
