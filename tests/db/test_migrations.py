"""The schema changes only through migrations, and those run on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import migrate
from core.db.database import Database
from core.db.models import Base
from tests import postgres

EXPECTED_TABLES = {
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
    "api_tokens",
}


def _round_trip(db: Database) -> None:
    head = migrate.head_revision(db)
    assert migrate.upgrade(db) == head
    assert set(sa.inspect(db.engine).get_table_names()) >= EXPECTED_TABLES
    assert migrate.downgrade(db, "base") is None
    assert not EXPECTED_TABLES & set(sa.inspect(db.engine).get_table_names())
    assert migrate.upgrade(db) == head
    # Data written after the round trip behaves as usual.
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO bar_series (symbol, timeframe, source, is_synthetic, stale, updated_at) "
                "VALUES ('X', '1d', 'csv', false, false, CURRENT_TIMESTAMP)"
            )
        )
        assert conn.execute(sa.text("SELECT count(*) FROM bar_series")).scalar() == 1


def _assert_models_match_migrations(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    _round_trip(db)
    _assert_models_match_migrations(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_db_upgrade_command(cli) -> None:
    run = cli("db", "upgrade", "--json")
    assert run.code == 0
    assert run.json()["revision"] == run.json()["head"]


def test_postgresql_upgrade_downgrade_upgrade(postgres_server: postgres.TemplateServer) -> None:
    url = postgres_server.create_database(migrated=False)
    db = Database(url)
    try:
        _round_trip(db)
        _assert_models_match_migrations(db)
    finally:
        db.dispose()
        postgres_server.drop_database(url)
