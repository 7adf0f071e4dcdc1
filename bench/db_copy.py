"""Storage benchmark: the NaN guards' cost on a bulk bar insert, and `db copy` SQLite -> PostgreSQL.

Prints (medians of `--repeats` runs, default 3):
- the time to insert N bars (default 200,000) into SQLite with the column guards and without;
- the time `db copy` takes to move that installation to a fresh PostgreSQL database (a throwaway
  server from tests/postgres.py; skipped without PostgreSQL's binaries), and its rows/s.
Run: `.venv/bin/python bench/db_copy.py [--bars N] [--repeats K]`. The load average is printed
because other processes skew timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Float

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.context import Context
from core.data import store
from core.db.database import Database, forget_database
from core.db.models import Bar
from core.db.transfer import copy_database
from core.settings import Settings
from tests import postgres

OHLCV = ("open", "high", "low", "close", "volume")


def _bars(n: int) -> pd.DataFrame:
    index = pd.date_range("2000-01-01", periods=n, freq="min", tz="UTC")
    values = np.random.default_rng(0).uniform(1.0, 2.0, (n, 5))
    return pd.DataFrame(values, index=index, columns=list(OHLCV))


def _installation(frame: pd.DataFrame) -> tuple[Context, float]:
    home = Path(tempfile.mkdtemp(prefix="candlelab-bench-"))
    ctx = Context.create(Settings(_env_file=None, candlelab_home=home), logs=False)  # type: ignore[call-arg]
    started = time.perf_counter()
    with ctx.db.session() as session:
        store.upsert_bars(session, "BENCH", "1m", frame, source="bench")
    return ctx, time.perf_counter() - started


def insert_times(frame: pd.DataFrame, repeats: int) -> tuple[float, float]:
    guarded = [_installation(frame)[1] for _ in range(repeats)]
    columns = [Bar.__table__.c[name] for name in OHLCV]
    saved = [column.type for column in columns]
    for column in columns:
        column.type = Float()
    try:
        plain = [_installation(frame)[1] for _ in range(repeats)]
    finally:
        for column, type_ in zip(columns, saved, strict=True):
            column.type = type_
    return statistics.median(guarded), statistics.median(plain)


def copy_times(frame: pd.DataFrame, repeats: int) -> list[float]:
    source, _ = _installation(frame)
    times = []
    with postgres.template_server() as server:
        for _ in range(repeats):
            url = server.create_database(migrated=False)
            target = Database(url)
            started = time.perf_counter()
            result = copy_database(source.db, target, replace=False)
            times.append(time.perf_counter() - started)
            assert result.verified and result.tables["bars"] == len(frame)
            target.dispose()
            server.drop_database(url)
    forget_database(source.settings.db_url)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    frame = _bars(args.bars)
    guarded, plain = insert_times(frame, args.repeats)
    overhead = (guarded / plain - 1) * 100
    print(
        f"insert {args.bars:,} bars into SQLite: {guarded:.2f} s guarded, {plain:.2f} s plain "
        f"({overhead:+.0f} %)"
    )
    if not postgres.available():
        print("db copy: skipped (no PostgreSQL server binaries)")
        return
    median = statistics.median(copy_times(frame, args.repeats))
    print(f"db copy of {args.bars:,} bars SQLite -> PostgreSQL: {median:.2f} s (median of {args.repeats})")
    print(f"rows/s: {args.bars / median:,.0f}")


if __name__ == "__main__":
    main()
