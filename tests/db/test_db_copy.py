"""`db copy --to URL`: a SQLite installation moved to PostgreSQL (or any URL), verified, all or nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.db import transfer
from core.db.database import Database, forget_database
from core.db.models import Base, LLMCall, LLMResponseCache, ScheduledRun, TrainingJob
from core.learning.samples import record_execution_outcome, update_outcome_with_pnl
from core.registry.loading import load_version
from core.registry.versions import active_version
from core.training.service import train_pair as train
from tests import postgres, s3
from tests.bots.helpers import add_version
from tests.conftest import GOOG_CSV, make_settings

# Every table this installation has today; a table added later is copied too (the copy walks the
# models' metadata), and shows up in the result beside these.
KNOWN_TABLES = {
    "bars",
    "bar_series",
    "label_sets",
    "labels",
    "llm_calls",
    "llm_response_cache",
    "training_jobs",
    "model_training_records",
    "ai_model_versions",
    "model_activations",
    "ai_training_samples",
    "scheduled_runs",
}


def _fill(ctx: Context) -> None:
    """An installation with rows in every table, through the code paths that write them."""
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    labeling = {"lookback_days": 3000, "samples": 60, "labeler": "rules", "sampling": "uniform"}
    first = train(
        ctx,
        "GOOG",
        "1d",
        bots=["xgb_agent"],
        labeling=labeling,
        activate="always",
        bot_params={"xgb_agent": {"rounds": 20}},
    )
    version_id = first.versions[0].version_id
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, "GOOG", "1d", limit=12)
    for i, (ts, row) in enumerate(bars.iloc[:8:2].iterrows()):
        sample = record_execution_outcome(
            ctx,
            symbol="GOOG",
            timeframe="1d",
            bot="xgb_agent",
            version_id=version_id,
            recommendation="BUY",
            confidence=0.6,
            entry_price=float(row["close"]),
            predicted_at=ts.to_pydatetime(),
            features={"rsi_14": 0.4 + i / 100},
        )
        if i < 2:
            update_outcome_with_pnl(
                ctx,
                sample,
                exit_price=float(row["close"]) * 1.01,
                exit_time=(ts + timedelta(days=2)).to_pydatetime(),
                exit_reason="timeout",
            )
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        session.add(
            LLMResponseCache(cache_key="k" * 64, provider="openai", model="gpt-4o", response_text="{}")
        )
        session.add(
            LLMCall(
                label_set_id=first.label_set_id,
                provider="openai",
                model="gpt-4o",
                cache_key="k" * 64,
                status="ok",
                attempts=1,
                cost_usd=0.0125,
            )
        )
        session.add(
            TrainingJob(
                kind="quick",
                symbol="GOOG",
                timeframe="1d",
                status="succeeded",
                progress=1.0,
                params={"bots": ["xgb_agent"]},
                result={"versions": [version_id]},
                finished_at=now,
            )
        )
        session.add(
            ScheduledRun(
                name="daily_retrain", slot=now.strftime("%Y-%m-%dT03:00"), owner="test", status="succeeded"
            )
        )
    with ctx.db.engine.begin() as conn:  # SQLite keeps an infinity where the target keeps NULL
        conn.exec_driver_sql("UPDATE labels SET outcome_return = 9e999 WHERE id = 1")


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("source_home")
    ctx = Context.create(make_settings(home, database_url=None), logs=False)
    _fill(ctx)
    forget_database(ctx.settings.db_url)  # closing the last connection folds the WAL in
    return home


@pytest.fixture
def source(installation: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the filled installation in this test's home (where the `cli` fixture points)."""
    shutil.copytree(installation, home, dirs_exist_ok=True)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return home


def _counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return {
                t.name: conn.scalar(sa.select(sa.func.count()).select_from(t))
                for t in Base.metadata.sorted_tables
            }
    finally:
        db.dispose()


def test_copy_to_postgresql_moves_every_table_and_the_artifacts(
    cli: Callable[..., Any],
    source: Path,
    postgres_server: postgres.TemplateServer,
    s3_server: s3.S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = postgres_server.create_database(migrated=False)
    with_password = url.replace("candlelab@", "candlelab:pg-pass-4471@")  # trust auth ignores it
    bucket = s3_server.new_bucket()
    for name, value in s3_server.environment(bucket).items():
        if name != "ARTIFACT_URL":  # this installation keeps its local artifacts; the target gets S3
            monkeypatch.setenv(name, value)
    run = cli("db", "copy", "--to", with_password, "--artifact-url", f"s3://{bucket}/models", "--json")
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["verified"] is True
    assert set(doc["tables"]) == set(Base.metadata.tables) and set(doc["tables"]) >= KNOWN_TABLES
    assert all(doc["tables"][name] > 0 for name in KNOWN_TABLES), doc["tables"]
    assert doc["tables"]["bars"] == 2148 and doc["tables"] == _counts(f"sqlite:///{source / 'candlelab.db'}")
    assert _counts(url) == doc["tables"]
    assert (
        doc["artifacts"]["copied"] == doc["tables"]["ai_model_versions"]
        and doc["artifacts"]["unverified"] == {}
    )
    for text in (run.out, run.err, (source / "logs" / "backend.log").read_text()):
        assert "pg-pass-4471" not in text and s3.SECRET_KEY not in text
    assert doc["target"].startswith("postgresql+psycopg://candlelab:***@127.0.0.1")

    # The team's installation: PostgreSQL and S3, nothing of the old home.
    team = Context.create(
        make_settings(source.parent / "team", database_url=url, **s3_server.settings(bucket)), logs=False
    )
    try:
        active = active_version(team.db, "GOOG", "1d", "xgb_agent")
        assert active is not None and load_version(team, active).fitted
        with team.db.read() as session:
            assert session.scalar(sa.text("SELECT outcome_return FROM labels WHERE id = 1")) is None
        newer = add_version(team, symbol="GOOG")  # sequences continue after the copied ids
        assert newer.version_id == doc["tables"]["ai_model_versions"] + 1
    finally:
        forget_database(url)

    again = cli("db", "copy", "--to", url, "--json")
    assert again.code == 2 and "already holds data" in again.err and "--replace" in again.err
    assert _counts(url)["ai_model_versions"] == doc["tables"]["ai_model_versions"] + 1  # untouched
    replaced = cli("db", "copy", "--to", url, "--replace", "--json")
    assert replaced.code == 0 and replaced.json()["tables"] == doc["tables"] == _counts(url)
    postgres_server.drop_database(url)


def test_a_failing_copy_keeps_nothing_and_names_the_column(
    cli: Callable[..., Any], source: Path, postgres_server: postgres.TemplateServer
) -> None:
    url = postgres_server.create_database(migrated=False)
    db = Database(f"sqlite:///{source / 'candlelab.db'}")
    with db.engine.begin() as conn:  # labels come late in the copy: earlier tables are already written
        conn.exec_driver_sql("UPDATE labels SET current_price = 9e999 WHERE id = 2")
    db.dispose()
    run = cli("db", "copy", "--to", url, "--json")
    assert run.code == 1
    assert "labels.current_price cannot store inf" in run.err and "nothing was kept" in run.err
    assert set(_counts(url).values()) == {0}  # migrated, and empty
    postgres_server.drop_database(url)


def test_copy_to_another_sqlite_file_and_bad_targets(
    cli: Callable[..., Any], source: Path, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    run = cli("db", "copy", "--to", target, "--json")
    assert run.code == 0, run.err
    assert run.json()["verified"] and _counts(target) == run.json()["tables"]
    same = cli("db", "copy", "--to", f"sqlite:///{source / 'candlelab.db'}", "--json")
    assert same.code == 2 and "own database" in same.err
    bad = cli("db", "copy", "--to", "not a url", "--json")
    assert bad.code == 2 and "is not a database URL" in bad.err


def test_a_copy_that_reads_back_differently_is_not_kept(
    cli: Callable[..., Any], source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verification is real: a target that changed one value after the insert fails the copy."""
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    original = transfer._copy_table

    def copy_then_alter(src: sa.Connection, dst: sa.Connection, table: sa.Table) -> transfer.TableDigest:
        digest = original(src, dst, table)
        if table.name == "bars":
            dst.exec_driver_sql("UPDATE bars SET close = close + 0.01 WHERE rowid = 7")
        return digest

    monkeypatch.setattr(transfer, "_copy_table", copy_then_alter)
    run = cli("db", "copy", "--to", target, "--json")
    assert run.code == 1 and "table bars read back 2148 rows" in run.err and "nothing was kept" in run.err
    assert set(_counts(target).values()) == {0}
