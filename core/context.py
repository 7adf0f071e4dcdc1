"""The handle every engine function takes: settings plus the database they point at."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.db.database import Database, get_database
from core.logging_setup import configure_logging
from core.settings import Settings, get_settings


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
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        if logs:
            configure_logging(settings.logs_dir, settings.log_level, settings.secret_values())
        ctx = cls(settings)
        if migrate:
            from core.db.migrate import upgrade  # Alembic loads only when a migration may run

            upgrade(ctx.db)
        return ctx
