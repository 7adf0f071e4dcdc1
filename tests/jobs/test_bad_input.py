"""Every bad option exits 2 with a clear message and leaves the store byte-for-byte as it was.

"As it was" is an identical SQL dump of the SQLite database (`iterdump`) before and after the
command: no job row, no label set, no ledger line, nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from tests.bots.helpers import store_hindsight_set
from tests.conftest import GOOG_CSV, CliRun, make_settings

TRAIN = ("train", "--symbol", "GOOG", "--timeframe", "1d", "--bots", "xgb_agent", "--labeler", "rules")
LABEL = ("label", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "rules")
EXPERIMENT = ("experiment", "--symbol", "GOOG", "--timeframe", "1d", "--labelers", "rules,next_price")
HUGE = "99999999999999999999999"

CASES = [
    ((*TRAIN, "--lookback-days", "-1"), "--lookback-days: must be a positive number of days"),
    ((*TRAIN, "--lookback-days", "nan"), "--lookback-days: must be a positive number of days"),
    ((*TRAIN, "--lookback-days", "inf"), "--lookback-days: must be a positive number of days"),
    ((*TRAIN, "--lookback-days", "1e308"), "--lookback-days: must be a positive number of days"),
    ((*LABEL, "--lookback-days", "-1"), "--lookback-days: must be a positive number of days"),
    ((*TRAIN, "--samples", "0"), "--samples"),
    ((*LABEL, "--samples", "0"), "--samples"),
    ((*LABEL, "--samples", "100000000"), "--samples"),
    (("train", "--symbol", "NOSUCH", "--timeframe", "1d", "--bots", "xgb_agent"), "unknown symbol 'NOSUCH'"),
    (("label", "--symbol", "NOSUCH", "--timeframe", "1d"), "unknown symbol 'NOSUCH'"),
    ((*LABEL, "--lookback-days", "10"), "not enough bars to label"),
    ((*TRAIN, "--lookback-days", "10"), "not enough bars to label"),
    (
        (
            "train",
            "--symbol",
            "INFY.NS",
            "--timeframe",
            "5m",
            "--bots",
            "xgb_agent",
            "--label-set",
            "{goog_set}",
        ),
        "is for GOOG 1d, not INFY.NS 5m",
    ),
    (("activate", HUGE), "VERSION_ID: Input should be less than or equal to 9007199254740991"),
    (("jobs", "cancel", HUGE), "JOB_ID"),
    (("jobs", "run", "0"), "JOB_ID: Input should be greater than or equal to 1"),
    (("samples", "--limit", "-1"), "--limit"),
    (("samples", "--offset", "-1"), "--offset"),
    (("jobs", "--limit", "-5"), "--limit"),
    (("versions", "--limit", "-1"), "--limit"),
    (("label", "list", "--limit", "-1"), "--limit"),
    (("retrain", "--min-samples", "-1"), "--min-samples"),
    (("retrain", "--min-samples", "0"), "--min-samples"),
    (("data", "fetch", "--symbol", "GOOG", "--timeframe", "1d", "--lookback-days", "nan"), "--lookback-days"),
    ((*EXPERIMENT, "--lookback-days", "nan"), "--lookback-days: must be a positive number of days"),
    ((*EXPERIMENT, "--bots", "svm"), "--bots: unknown bot 'svm'"),
    (("experiments", "--id", HUGE), "--id: Input should be less than or equal to 9007199254740991"),
    (("experiments", "--limit", "-1"), "--limit"),
]


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """GOOG daily bars, the demo intraday pair and one small label set: something to leave alone."""
    home = tmp_path_factory.mktemp("bad_input_home")
    ctx = Context.create(make_settings(home), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    supply.refresh_series(ctx, "INFY.NS", "5m", provider="offline", lookback_days=20)
    label_set = store_hindsight_set(ctx, "GOOG", "1d", horizon=10, samples=40)
    forget_database(ctx.settings.db_url)
    return home / "candlelab.db", {"goog_set": str(label_set)}


@pytest.fixture
def stocked(home: Path, template: tuple[Path, dict[str, str]]) -> dict[str, str]:
    shutil.copy(template[0], home / "candlelab.db")
    return template[1]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a[:3]) + "…" + a[-1] for a, _ in CASES])
def test_a_bad_option_exits_2_and_writes_nothing(
    cli: Callable[..., CliRun], home: Path, stocked: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    db = home / "candlelab.db"
    cli("versions", "--json")  # the schema is current before the snapshot (the CLI upgrades SQLite)
    before = dump(db)
    run = cli(*[a.format(**stocked) for a in args], "--json")
    assert run.code == 2, (run.code, run.out, run.err)
    error = run.json()["error"]["message"]
    assert message in error, error
    assert "Traceback" not in run.err
    assert dump(db) == before
