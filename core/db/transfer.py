"""`db copy`: move a whole installation to another database, verified, all or nothing.

Generic over the models' metadata: every table is copied in foreign-key order, so a table added
tomorrow is copied without a change here. The source is read in one transaction (on SQLite one
WAL snapshot, so a dashboard writing meanwhile cannot tear the copy), the target is written in
one transaction that ends with the verification: per table, the row count and a checksum of
every row read back from the target must equal those of the source, or everything rolls back.

The checksum is order-independent (the sum of per-row SHA-256 values), because SQLite and
PostgreSQL collate text differently and an ORDER BY would disagree. Source values are taken as
the target's column guards would store them (a NaN becomes NULL), so the comparison is with what
the target can hold; a value it cannot hold fails the copy with the column's name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from core.db import audit_chain, migrate
from core.db.database import Database
from core.db.models import Base
from core.db.types import json_ready
from core.errors import BadInput, CandleLabError
from core.urls import redact_url

log = logging.getLogger(__name__)

BATCH_ROWS = 5_000
_MODULUS = 1 << 256


class CopyNotVerified(CandleLabError):
    """The target did not read back what was written; nothing was kept."""


@dataclass
class TableDigest:
    rows: int = 0
    checksum: int = 0

    def add(self, row: Mapping[str, Any]) -> None:
        self.rows += 1
        self.checksum = (self.checksum + _row_hash(row)) % _MODULUS


@dataclass
class CopyResult:
    target: str  # redacted: no password
    tables: dict[str, int] = field(default_factory=dict)
    verified: bool = False


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _row_hash(row: Mapping[str, Any]) -> int:
    values = {key: _canonical(json_ready(value)) for key, value in row.items()}
    encoded = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(encoded.encode()).digest(), "big")


def _digest(conn: Connection, table: Table) -> TableDigest:
    digest = TableDigest()
    result = conn.execution_options(yield_per=BATCH_ROWS).execute(select(table))
    for row in result.mappings():
        digest.add(row)
    return digest


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _check_target_empty(conn: Connection) -> None:
    filled = [t.name for t in _tables() if conn.scalar(select(func.count()).select_from(t))]
    if filled:
        raise BadInput(
            f"the target database already holds data (tables {', '.join(filled)}); copy into an empty "
            "database, or pass --replace to delete what it holds first"
        )


def _copy_table(source: Connection, target: Connection, table: Table) -> TableDigest:
    digest = TableDigest()
    result = source.execution_options(yield_per=BATCH_ROWS).execute(select(table))
    for batch in result.mappings().partitions():
        rows = [dict(row) for row in batch]
        for row in rows:
            digest.add(row)
        target.execute(table.insert(), rows)
    return digest


def _reset_sequences(target: Connection, tables: Iterable[Table]) -> None:
    """Explicit ids were inserted: PostgreSQL's sequences must continue after the largest."""
    if target.dialect.name != "postgresql":
        return  # SQLite picks max(rowid) + 1 by itself
    quote = target.dialect.identifier_preparer.quote
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        target.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"COALESCE((SELECT MAX({quote(column.name)}) FROM {quote(table.name)}), 0) + 1, false)"
            ),
            {"table": table.name, "column": column.name},
        )


def _verify(target: Connection, expected: dict[str, TableDigest]) -> None:
    for table in _tables():
        found = _digest(target, table)
        wanted = expected[table.name]
        if (found.rows, found.checksum) != (wanted.rows, wanted.checksum):
            raise CopyNotVerified(
                f"table {table.name} read back {found.rows} rows (checksum {found.checksum:064x}) where "
                f"{wanted.rows} were copied (checksum {wanted.checksum:064x}); nothing was kept"
            )


def _check_ready(source: Database, target: Database) -> None:
    if source.engine.url == target.engine.url:
        raise BadInput("the target is this installation's own database; name another one with --to")
    if not migrate.is_current(source):
        raise BadInput("this installation's schema is not current; run `python -m core db upgrade` first")


def copy_database(source: Database, target: Database, *, replace: bool = False) -> CopyResult:
    """Copy every table of `source` into `target` (migrated to head first), verified."""
    result = CopyResult(target=redact_url(target.url))
    _check_ready(source, target)
    try:
        migrate.upgrade(target)
        with source.engine.connect() as src, src.begin(), target.engine.connect() as dst, dst.begin():
            if replace:
                for table in reversed(_tables()):
                    dst.execute(table.delete())
            else:
                _check_target_empty(dst)
            source_chain = audit_chain.verify(src)
            if not source_chain.intact:
                raise CopyNotVerified(
                    f"this installation's audit log is broken ({source_chain.problem}); nothing was copied. "
                    "`python -m core audit verify` shows it"
                )
            copied: dict[str, TableDigest] = {}
            for table in _tables():
                copied[table.name] = _copy_table(src, dst, table)
                log.info("db copy: %d rows of %s", copied[table.name].rows, table.name)
            _reset_sequences(dst, _tables())
            _verify(dst, copied)  # an exception here rolls the whole target transaction back
            chain = audit_chain.verify(dst)
            if not chain.intact:
                raise CopyNotVerified(f"the audit log's hash chain at the target is broken: {chain.problem}")
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc  # the driver's or guard's own message, not the SQL
        raise CandleLabError(
            f"copying to {result.target} failed and nothing was kept: {type(cause).__name__}: {cause}"
        ) from None
    result.tables = {name: digest.rows for name, digest in copied.items()}
    result.verified = True
    log.info("db copy to %s verified: %s", result.target, result.tables)
    return result
