"""CSV import through the real CLI: the happy path, idempotency, and bad input leaving the store as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import GOOG_CSV, REPO, SHARED_DATA


def _store_digest(home: Path) -> tuple[int, str]:
    """Row count and a hash of every stored bar, read straight from the SQLite file."""
    engine = create_engine(f"sqlite:///{home / 'candlelab.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT symbol, timeframe, ts, open, high, low, close, volume FROM bars ORDER BY 1, 2, 3")
        ).all()
    engine.dispose()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def test_bundled_copy_is_the_shared_data() -> None:
    if (SHARED_DATA / "GOOG_1d.csv").exists():
        assert (REPO / "data" / "GOOG_1d.csv").read_bytes() == (SHARED_DATA / "GOOG_1d.csv").read_bytes()


def test_import_goog_twice_keeps_2148_rows(cli, home: Path) -> None:
    first = cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d", "--json")
    assert first.code == 0, first.err
    doc = first.json()
    assert doc["rows"] == 2148
    assert doc["first"].startswith("2004-08-19") and doc["last"].startswith("2013-03-01")
    second = cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d", "--json")
    assert second.code == 0 and second.json()["rows"] == 2148
    assert _store_digest(home)[0] == 2148


def test_zoned_and_lowercase_csv(cli, tmp_path: Path) -> None:
    path = tmp_path / "intraday.csv"
    path.write_text(
        "timestamp,open,HIGH,low,Close,volume\n"
        "2024-01-02T09:15:00+05:30,100,101,99,100.5,1000\n"
        "2024-01-02T09:20:00+05:30,100.5,102,100,101.5,1200\n"
        "2024-01-02 04:00:00,101.5,102,101,101.7,900\n"
    )
    run = cli("data", "import", path, "--symbol", "infy.ns", "--timeframe", "5m", "--json")
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["symbol"] == "INFY.NS" and doc["rows"] == 3
    assert doc["first"] == "2024-01-02T03:45:00+00:00"  # +05:30 converted; naive read as UTC
    assert doc["last"] == "2024-01-02T04:00:00+00:00"


BAD_FILES = {
    "missing_column": ("date,Open,High,Low,Close\n2020-01-01,1,2,0.5,1.5\n", "missing column(s) Volume"),
    "bad_date": (
        "date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\nnot-a-date,1,2,0.5,1.5,10\n",
        "line 3 has an unparsable date 'not-a-date'",
    ),
    "negative_price": (
        "date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,2,-0.5,1.5,10\n",
        "line 3 (2020-01-02T00:00:00+00:00) has a price that is zero or negative",
    ),
    "high_below_low": (
        "date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1,0.9,1.1,1,10\n",
        "line 3 (2020-01-02T00:00:00+00:00) has High below Low",
    ),
    "empty": ("", "is empty"),
    "header_only": ("date,Open,High,Low,Close,Volume\n", "has a header but no rows"),
    "non_numeric": (
        "date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,abc,10\n",
        "line 2 (2020-01-01T00:00:00+00:00) has a missing or non-numeric close",
    ),
    "duplicate_time": (
        "date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-01,1,2,0.5,1.5,10\n",
        "line 3 (2020-01-01T00:00:00+00:00) repeats an earlier timestamp",
    ),
    "no_time_column": ("Open,High,Low,Close,Volume\n1,2,0.5,1.5,10\n", "no date/time column"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_csv_exits_2_names_the_problem_and_leaves_the_store(
    cli, home: Path, tmp_path: Path, case: str
) -> None:
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d").code == 0
    before = _store_digest(home)
    content, message = BAD_FILES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(content)
    run = cli("data", "import", path, "--symbol", "GOOG", "--timeframe", "1d", "--json")
    assert run.code == 2
    assert message in run.json()["error"]["message"]
    assert message in run.err
    assert _store_digest(home) == before


def test_a_bad_row_deep_in_a_real_file_writes_nothing(cli, home: Path, tmp_path: Path) -> None:
    """All-or-nothing: 2,000 good rows before the bad one are not stored either."""
    lines = GOOG_CSV.read_text().splitlines()
    fields = lines[2001].split(",")
    fields[2], fields[3] = fields[3], fields[2]  # swap High and Low on file line 2002
    lines[2001] = ",".join(fields)
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n")
    run = cli("data", "import", path, "--symbol", "GOOGX", "--timeframe", "1d", "--json")
    assert run.code == 2
    assert "line 2002" in run.json()["error"]["message"]
    assert _store_digest(home)[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "GOOG", "--timeframe", "2h"], "unknown timeframe '2h'"),
        (["--symbol", "GO OG", "--timeframe", "1d"], "invalid symbol"),
        (["--symbol", "", "--timeframe", "1d"], "invalid symbol"),
    ],
)
def test_unknown_timeframe_or_symbol_is_bad_input(cli, home: Path, args: list[str], message: str) -> None:
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d").code == 0
    before = _store_digest(home)
    run = cli("data", "import", GOOG_CSV, *args, "--json")
    assert run.code == 2 and message in run.json()["error"]["message"]
    assert _store_digest(home) == before


def test_missing_file_is_bad_input(cli, tmp_path: Path) -> None:
    run = cli("data", "import", tmp_path / "nope.csv", "--symbol", "GOOG", "--timeframe", "1d", "--json")
    assert run.code == 2 and "no such file" in run.json()["error"]["message"]


def test_unknown_symbol_for_the_offline_provider(cli, home: Path) -> None:
    run = cli("data", "fetch", "--symbol", "NOPE", "--timeframe", "1d", "--provider", "offline", "--json")
    assert run.code == 2
    assert "unknown symbol 'NOPE'" in run.json()["error"]["message"]


def test_usage_errors_are_exit_2_with_json(cli) -> None:
    run = cli("data", "import", "--json")
    assert run.code == 2
    assert "required" in run.json()["error"]["message"]
