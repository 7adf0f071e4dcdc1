"""Is a pair's model stale? Its newest trained version, live or not, is older than MODEL_STALE_HOURS.

Counting every trained version (not only active ones) keeps a pair whose models stay below the
gate from being retrained, and its LLM labels paid for again, on every visit or sweep. Versions
of runs that never committed (`discarded`) do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.context import Context
from core.data.store import as_utc
from core.db.models import AIModelVersion
from core.db.types import utcnow


@dataclass(frozen=True)
class Staleness:
    stale: bool
    newest_trained_at: datetime | None
    age_hours: float | None
    limit_hours: float

    @property
    def newest_active_at(self) -> datetime | None:  # the name pages used before
        return self.newest_trained_at

    @property
    def reason(self) -> str:
        if self.newest_trained_at is None:
            return "no trained model yet"
        verdict = "older than" if self.stale else "within"
        return f"newest model is {self.age_hours:.1f} h old ({verdict} the {self.limit_hours:g} h limit)"


def staleness(ctx: Context, symbol: str, timeframe: str, now: datetime | None = None) -> Staleness:
    now = now or utcnow()
    limit = ctx.settings.model_stale_hours
    with ctx.db.read() as session:
        newest = session.scalar(
            select(func.max(AIModelVersion.created_at)).where(
                AIModelVersion.symbol == symbol,
                AIModelVersion.timeframe == timeframe,
                AIModelVersion.status != "discarded",
            )
        )
    newest = as_utc(newest)  # aggregates bypass the column type on SQLite
    if newest is None:
        return Staleness(True, None, None, limit)
    age = now - newest
    return Staleness(age > timedelta(hours=limit), newest, age.total_seconds() / 3600, limit)
