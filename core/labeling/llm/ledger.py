"""The cost ledger (`llm_calls`): one row per logical request, and today's spend against the budget.

A row is `ok` (the provider answered; billed), `cached` (answered from the response cache; free)
or `error` (gave up after retries, or refused the credentials; not billed). Tokens come from
the provider's `usage` when it reports one, else they are estimated (characters / 4) and the
label set records that its figures are estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.db.models import LLMCall
from core.settings import Settings

# Reply tokens assumed before a request is sent (budget reservation and the pre-run estimate):
# the schema's JSON plus two sentences of reasoning is about 120-180 tokens; 200 errs high.
EXPECTED_OUTPUT_TOKENS = 200


def cost_usd(settings: Settings, model: str, tokens_in: int, tokens_out: int) -> float:
    price_in, price_out = settings.price_per_million(model)
    return (tokens_in * price_in + tokens_out * price_out) / 1_000_000


def day_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of the day `now` falls in: the budget resets then."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def spent_today(session: Session, now: datetime | None = None) -> float:
    total = session.scalar(
        select(func.coalesce(func.sum(LLMCall.cost_usd), 0.0)).where(LLMCall.created_at >= day_start(now))
    )
    return float(total or 0.0)


@dataclass
class CallRow:
    label_set_id: int | None
    provider: str
    model: str
    cache_key: str
    status: str  # ok | cached | error
    http_status: int | None = None
    attempts: int = 0
    latency_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    error: str | None = None


def record(session: Session, rows: Sequence[CallRow]) -> list[int]:
    """Insert ledger rows in one statement; returns their ids in order (labels point at them)."""
    if not rows:
        return []
    now = datetime.now(UTC)
    values = [{**asdict(row), "created_at": now} for row in rows]
    result = session.execute(insert(LLMCall).returning(LLMCall.id, sort_by_parameter_order=True), values)
    return [int(i) for i in result.scalars().all()]
