"""The handle every engine function takes: settings plus the database and artifact store they name."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from core import masking
from core.artifacts.base import ArtifactStore
from core.artifacts.stores import open_store
from core.db.database import Database, get_database
from core.logging_setup import configure_logging
from core.owner_only import private_dir, restrict_umask
from core.settings import Settings, get_settings


@dataclass
class Context:
    settings: Settings
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        masking.register(self.settings.secret_values())
        self.db = get_database(self.settings.db_url)

    @functools.cached_property
    def artifacts(self) -> ArtifactStore:
        """Where model artifacts are written and read (ARTIFACT_URL; CANDLELAB_HOME/models by default)."""
        return open_store(self.settings)

    def for_llm_provider(self, provider: str | None) -> Context:
        """The same database with another LLM provider: a per-run choice (Training page, --llm-provider)."""
        settings = self.settings.with_llm_provider(provider)
        return self if settings is self.settings else Context(settings)

    @classmethod
    def create(cls, settings: Settings | None = None, *, migrate: bool = True, logs: bool = True) -> Context:
        """Build a context for an entry point: owner-only files, logging on, schema at head, home made."""
        settings = settings or get_settings()
        restrict_umask()
        private_dir(settings.home, tighten=True)
        if logs:
            configure_logging(settings.logs_dir, settings.log_level, settings.secret_values())
        ctx = cls(settings)
        if migrate:
            from core.db.migrate import upgrade  # Alembic loads only when a migration may run

            upgrade(ctx.db)
        return ctx
