"""Storage faults told like a person would: which file, what is wrong, what to do.

A read-only database, a full disk, a database locked past its timeout, a missing directory: the
driver's exception carries the statement and its bound parameters (a token's digest among them),
which must reach neither a terminal nor an API client. `storage_fault` turns such an exception
into one `StorageFault` line naming the file and the likely fix; the transaction it interrupted
has rolled back, so nothing is half-written.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from core.errors import CandleLabError
from core.urls import redact_url

LOCK_WAIT_S = 30  # core.db.database.SQLITE_BUSY_TIMEOUT_MS, in seconds

# What every database driver raises, wrapped by SQLAlchemy: handlers outside core.db catch it by
# this name (and turn it into a `StorageFault` with `storage_fault`) without importing SQLAlchemy.
DriverError = DBAPIError


class StorageFault(CandleLabError):
    """The store cannot be written or read for a reason outside CandleLab; nothing was kept."""


def database_file(url: str) -> str:
    """The SQLite file of `url`, or the URL without its password for a server database."""
    if url.startswith("sqlite"):
        return url.split("///", 1)[-1] or url
    return redact_url(url)


_DRIVER_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("readonly database", "read-only file system", "read-only transaction", "readonly"),
        "{file} is read-only: give the user running CandleLab write access to it, its -wal and -shm "
        "files and its directory (or mount the disk read-write), then run the command again",
    ),
    (
        ("database or disk is full", "no space left", "disk full", "could not extend file"),
        "the disk holding {file} is full: free space there (old logs, artifacts of discarded versions), "
        "then run the command again; nothing was written",
    ),
    (
        ("database is locked", "database table is locked", "lock timeout", "could not obtain lock"),
        "{file} stayed locked by another process for more than " + str(LOCK_WAIT_S) + " s: wait for it "
        "(an import, a copy or a training run) to finish, or stop it, then run the command again",
    ),
    (
        ("unable to open database file", "cannot open", "no such file or directory"),
        "{file} cannot be opened: its directory is missing or not writable; create it (or point "
        "CANDLELAB_HOME / DATABASE_URL at one that exists), then run the command again",
    ),
    (
        ("disk i/o error", "input/output error"),
        "reading or writing {file} failed with a disk I/O error: check the disk and its free space, "
        "then run the command again",
    ),
)

_OS_ERRNO = {
    errno.EROFS: 0,
    errno.EACCES: 0,
    errno.EPERM: 0,
    errno.ENOSPC: 1,
    errno.EDQUOT: 1,
    errno.ENOENT: 3,
    errno.EIO: 4,
}


def storage_fault(exc: BaseException, url: str | None) -> StorageFault | None:
    """The one-line fault `exc` stands for, or None when it is not a storage fault."""
    if isinstance(exc, StorageFault):
        return exc
    file = database_file(url) if url else "the database"
    if isinstance(exc, OSError) and exc.errno in _OS_ERRNO:
        target = exc.filename or file
        return StorageFault(_DRIVER_RULES[_OS_ERRNO[exc.errno]][1].format(file=target))
    cause = getattr(exc, "orig", None) or exc
    if type(cause).__module__.split(".")[0] not in ("sqlite3", "psycopg", "psycopg2", "sqlalchemy"):
        return None
    text = str(cause).lower()
    for needles, message in _DRIVER_RULES:
        if any(needle in text for needle in needles):
            return StorageFault(message.format(file=file))
    return None


def check_sqlite_files(path: Path) -> None:
    """Refuse, with the fix, a database whose file or companions this user cannot write.

    SQLite maps the `-shm` file into memory; one that is read-only for this user ends the process
    with SIGBUS at the first write instead of an error, so it is checked before SQLite opens it.
    """
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            raise StorageFault(_DRIVER_RULES[0][1].format(file=candidate))
    if path.parent.exists() and not os.access(path.parent, os.W_OK):
        raise StorageFault(_DRIVER_RULES[0][1].format(file=path))
