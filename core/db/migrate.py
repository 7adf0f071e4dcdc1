"""Apply, revert and inspect Alembic migrations from Python (the CLI and tests call these)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` is ConfigParser's interpolation character; URLs with encoded passwords contain it.
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def _run(db: Database, fn, *args: object) -> None:  # type: ignore[no-untyped-def]
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, *args)


def upgrade(db: Database, revision: str = "head") -> str | None:
    """Bring the schema to `revision` (head by default) and return the revision now applied."""
    _run(db, command.upgrade, revision)
    return current_revision(db)


def downgrade(db: Database, revision: str = "base") -> str | None:
    _run(db, command.downgrade, revision)
    return current_revision(db)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision(db)
