"""Validated rows wait in a private SQLite file, then move into `bars` in one short transaction.

Parsing and checking a big file takes seconds to minutes; holding the database's write lock that
long would make job heartbeats and other writers wait past the busy timeout. So an import
stages its rows in a file of its own (no lock on the store at all), and only when every row has
passed does it take the lock, for one `INSERT … SELECT` (SQLite, through ATTACH) or one
`INSERT … SELECT` from a temporary table (PostgreSQL). A refused file never touches the store.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd

from core.data.csv_stream import BarChunk
from core.errors import BadInput

BATCH_ROWS = 200_000


def _stamp(micros: int | None) -> datetime | None:
    return None if micros is None else pd.Timestamp(micros, unit="us", tz="UTC").to_pydatetime()


def _micros(index: pd.DatetimeIndex) -> np.ndarray:
    return index.as_unit("us").asi8


class StagingFile:
    """A throwaway SQLite file keyed by time (microseconds since the epoch, UTC)."""

    def __init__(self, directory: Path, what: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix="import-", suffix=".sqlite")
        os.close(fd)
        self.path = Path(name)
        self.what = what
        self.rows = 0
        self.first_us: int | None = None
        self.last_us: int | None = None
        self.whole_seconds = True
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        # The file is private and deleted afterwards: durability would only cost time.
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(
            "CREATE TABLE staged (ts INTEGER PRIMARY KEY, open REAL NOT NULL, high REAL NOT NULL, "
            "low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL)"
        )

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()
        self.path.unlink(missing_ok=True)

    @property
    def first(self) -> datetime | None:
        return _stamp(self.first_us)

    @property
    def last(self) -> datetime | None:
        return _stamp(self.last_us)

    def add(self, chunk: BarChunk) -> None:
        """Stage a validated chunk; `BadInput` naming the line when it repeats a staged time."""
        stamps = _micros(chunk.bars.index)
        if not stamps.size:
            return
        lo, hi = int(stamps[0]), int(stamps[-1])
        overlaps = self.first_us is not None and lo <= self.last_us and hi >= self.first_us  # type: ignore[operator]
        if overlaps:
            self._refuse_repeats(chunk, stamps)
        values = chunk.bars.to_numpy(dtype="float64")
        rows = np.rec.fromarrays([stamps, *values.T]).tolist()
        self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._conn.execute("COMMIT")
        self.rows += len(rows)
        self.first_us = lo if self.first_us is None else min(self.first_us, lo)
        self.last_us = hi if self.last_us is None else max(self.last_us, hi)
        self.whole_seconds = self.whole_seconds and not bool((stamps % 1_000_000).any())

    def _refuse_repeats(self, chunk: BarChunk, stamps: np.ndarray) -> None:
        """The slow path for unsorted files: look the chunk's times up among the staged ones."""
        self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS probe (ts INTEGER PRIMARY KEY)")
        self._conn.execute("DELETE FROM probe")
        self._conn.executemany("INSERT INTO probe VALUES (?)", ((int(v),) for v in stamps))
        taken = {row[0] for row in self._conn.execute("SELECT ts FROM probe JOIN staged USING (ts)")}
        if not taken:
            return
        hits = np.flatnonzero(np.isin(stamps, np.fromiter(taken, dtype=np.int64)))
        pos = hits[np.argmin(chunk.lines[hits])]
        line, stamp = int(chunk.lines[pos]), chunk.bars.index[pos]
        raise BadInput(f"{self.what}: line {line} ({stamp.isoformat()}) repeats an earlier timestamp")

    def sorted_stamps(self, batch: int = BATCH_ROWS) -> Iterator[np.ndarray]:
        """Every staged time in ascending order, a batch at a time."""
        cursor = self._conn.execute("SELECT ts FROM staged ORDER BY ts")
        while rows := cursor.fetchmany(batch):
            yield np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def batches(self, batch: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
        """The staged rows as OHLCV frames (for a database that cannot ATTACH this file)."""
        cursor = self._conn.execute("SELECT ts, open, high, low, close, volume FROM staged ORDER BY ts")
        while rows := cursor.fetchmany(batch):
            frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
            frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("ts"), unit="us", utc=True), name="ts")
            yield frame
