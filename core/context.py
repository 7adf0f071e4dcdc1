"""The handle every engine function takes: settings plus the database they point at."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.db.database import Database, get_database
from core.logging_setup import configure_logging
from core.settings import Settings, get_settings


def owner_only(path: Path) -> None:
    """The home holds the database, logs, artifacts and the LLM cache: only its owner may enter it."""
    try:
        if path.stat().st_uid == os.getuid():
            path.chmod(0o700)
    except OSError:  # a home we may not change (read-only mount): its own permissions apply
        pass


@dataclass
class Context:
    settings: Settings
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        self.db = get_database(self.settings.db_url)

    def for_llm_provider(self, provider: str | None) -> Context:
        """The same database with another LLM provider: a per-run choice (Training page, --llm-provider)."""
        settings = self.settings.with_llm_provider(provider)
        return self if settings is self.settings else Context(settings)

    @classmethod
    def create(cls, settings: Settings | None = None, *, migrate: bool = True, logs: bool = True) -> Context:
        """Build a context for an entry point: logging on, schema at head, home folders made."""
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        owner_only(settings.home)
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        if logs:
            configure_logging(settings.logs_dir, settings.log_level, settings.secret_values())
        ctx = cls(settings)
        if migrate:
            from core.db.migrate import upgrade  # Alembic loads only when a migration may run

            upgrade(ctx.db)
        return ctx
