"""The same import on PostgreSQL: staged rows reach `bars` in one transaction, all or none."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from core.context import Context
from core.data import publish, store, supply
from core.errors import BadInput
from tests.data.helpers import hourly_fx, write_yahoo

# The session's server (a fresh database copied from the migrated template); SQLite has its own tests.
pytestmark = pytest.mark.backends("postgresql")


def test_import_onto_postgresql_is_idempotent_and_all_or_nothing(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = hourly_fx(3_000)
    good = write_yahoo(frame, tmp_path / "fx.csv")
    lines = good.read_text().splitlines()
    lines[2_500] = lines[2_500].rsplit(",", 1)[0] + ",-5"  # a negative volume on line 2501
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    assert not ctx.db.is_sqlite
    first = supply.import_csv(ctx, good, "EURUSD", "1h", chunk_rows=1_000)
    again = supply.import_csv(ctx, good, "EURUSD", "1h", chunk_rows=1_000)
    assert first.summary.rows == again.summary.rows == 3_000
    assert again.summary.precision is not None and again.summary.precision.decimals == 5
    with ctx.db.read() as session:
        stored = store.load_bars(session, "EURUSD", "1h")
    assert stored.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert stored["close"].tolist() == frame["Close"].tolist()
    with pytest.raises(BadInput, match=r"line 2501 .* has a negative volume"):
        supply.import_csv(ctx, bad, "USDCHF", "1h", chunk_rows=1_000)
    with ctx.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM bars WHERE symbol = 'USDCHF'")).scalar()
    assert rows == 0
    # A driver without COPY (psycopg2, pg8000) stages with INSERTs: the same bars arrive.
    monkeypatch.setattr(publish, "_can_copy", lambda conn: False)
    supply.import_csv(ctx, good, "GBPUSD", "1h", chunk_rows=1_000)
    with ctx.db.read() as session:
        pd.testing.assert_frame_equal(store.load_bars(session, "GBPUSD", "1h"), stored)
