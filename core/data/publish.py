"""Moving staged rows into `bars` in one short transaction (see `core.data.staging`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Connection, Float, MetaData, Table, delete, insert, text
from sqlalchemy.orm import Session

from core.data import store
from core.data.frames import OHLCV
from core.data.precision import Precision
from core.data.staging import StagingFile
from core.db.database import Database
from core.db.models import Bar
from core.db.types import guard_numeric_columns

_ALIAS = "candlelab_staging"
# SQLAlchemy stores a SQLite DATETIME as "YYYY-MM-DD HH:MM:SS.ffffff"; staged times must match it
# exactly, or the same bar would be a second row. Whole seconds (nearly every file) take the
# faster expression.
_WHOLE_SECONDS = "datetime(ts / 1000000, 'unixepoch') || '.000000'"
_FRACTION = "((ts % 1000000) + 1000000) % 1000000"
_WITH_MICROS = (
    f"strftime('%Y-%m-%d %H:%M:%S', (ts - {_FRACTION}) / 1000000, 'unixepoch') "
    f"|| printf('.%06d', {_FRACTION})"
)
_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in [*OHLCV, "source"])
_COLUMNS = "symbol, timeframe, ts, open, high, low, close, volume, source"


@dataclass(frozen=True)
class Target:
    symbol: str
    timeframe: str
    origin: store.SeriesOrigin
    precision: Precision | None
    replace: bool  # drop the stored bars first: the series changes producer


def publish(db: Database, staging: StagingFile, target: Target) -> int:
    """All staged rows and the series' record, committed together or not at all.

    Returns how many stored bars were replaced (0 unless `target.replace`).
    """
    if db.is_sqlite:
        return _publish_sqlite(db, staging, target)
    return _publish_generic(db, staging, target)


def _finish(conn: Connection, target: Target) -> None:
    with Session(bind=conn) as session:
        store.mark_origin(session, target.symbol, target.timeframe, target.origin, precision=target.precision)
        session.flush()


def _publish_sqlite(db: Database, staging: StagingFile, target: Target) -> int:
    stamp = _WHOLE_SECONDS if staging.whole_seconds else _WITH_MICROS
    move = (
        f"INSERT INTO bars ({_COLUMNS}) SELECT ?, ?, {stamp}, open, high, low, close, volume, ? "
        f"FROM {_ALIAS}.staged WHERE true ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET {_UPDATE}"
    )
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute(f"ATTACH DATABASE ? AS {_ALIAS}", (str(staging.path),))  # outside any transaction
        try:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                replaced = conn.execute(_delete(target)).rowcount if target.replace else 0
                conn.exec_driver_sql(move, (target.symbol, target.timeframe, target.origin.source))
                _finish(conn, target)
        finally:
            raw.execute(f"DETACH DATABASE {_ALIAS}")
    return replaced


def _delete(target: Target):  # type: ignore[no-untyped-def]
    return delete(Bar).where(Bar.symbol == target.symbol, Bar.timeframe == target.timeframe)


_STAGED_COLUMNS = ("ts", *OHLCV)
# Staged times are microseconds since the epoch (UTC); integer arithmetic keeps them exact.
_FROM_MICROS = "TIMESTAMP '1970-01-01 00:00:00' + ts * INTERVAL '1 microsecond'"


def _publish_generic(db: Database, staging: StagingFile, target: Target) -> int:
    """PostgreSQL: rows go to a session-local temporary table first (no lock on `bars`)."""
    staged = Table(
        "candlelab_import_staged",
        MetaData(),
        Column("ts", BigInteger, primary_key=True),
        *(Column(c, Float, nullable=False) for c in OHLCV),
        prefixes=["TEMPORARY"],
    )
    # Like every table: no NaN or infinity reaches a price column. COPY bypasses bound types, but
    # its rows come from staging, which refused non-finite prices when the file was read.
    guard_numeric_columns(staged)
    with db.engine.connect() as conn:
        staged.create(conn)
        conn.commit()
        try:
            _load(conn, staged, staging)
            move = text(
                f"INSERT INTO bars ({_COLUMNS}) SELECT :symbol, :timeframe, {_FROM_MICROS}, open, high, low, "
                f"close, volume, :source FROM {staged.name} ORDER BY ts "
                f"ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET {_UPDATE}"
            )
            with conn.begin():
                replaced = conn.execute(_delete(target)).rowcount if target.replace else 0
                params = {"symbol": target.symbol, "timeframe": target.timeframe}
                conn.execute(move, {**params, "source": target.origin.source})
                _finish(conn, target)
        finally:
            conn.rollback()
            staged.drop(conn)
            conn.commit()
    return replaced


def _can_copy(conn: Connection) -> bool:
    return conn.dialect.driver == "psycopg"


def _load(conn: Connection, staged: Table, staging: StagingFile) -> None:
    """The staged rows into the temporary table: with COPY, PostgreSQL's bulk load, when the driver
    is psycopg 3 (an order of magnitude faster than INSERTs), else in batches of INSERTs."""
    if _can_copy(conn):
        raw = conn.connection.driver_connection
        assert raw is not None
        columns = ", ".join(_STAGED_COLUMNS)
        with raw.cursor() as cursor, cursor.copy(f"COPY {staged.name} ({columns}) FROM STDIN") as copy:
            for rows in staging.batches():
                for row in rows:
                    copy.write_row(row)
    else:
        for rows in staging.batches():
            conn.execute(insert(staged), [dict(zip(_STAGED_COLUMNS, row, strict=True)) for row in rows])
    conn.commit()
