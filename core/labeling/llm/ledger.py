"""The cost ledger (`llm_calls`) and the one daily budget every thread and process shares.

One row per logical request, written *before* it is sent:

- `reserve` inserts it as `sent`, charged its expected cost (`reserved_usd`, held in `cost_usd`),
  but only if today's committed spend (settled costs plus open reservations, i.e. the sum of
  `cost_usd` since midnight UTC) leaves room under `LLM_DAILY_BUDGET_USD`. The check and the
  insert are one write transaction, serialised across processes (SQLite: writers BEGIN
  IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so concurrent runs together
  never commit more than the cap.
- `mark_attempt` counts each retry as it is sent; `settle` replaces the reservation with the
  real cost when the request ends (`ok`, or `error` costing only reply bodies that arrived).
- A row still `sent` after its `expires_at` belongs to a process that died: `close_lost` marks it
  `lost`, still charged its reservation (the provider may have billed it; nobody can know).

Cache hits are `cached` rows at zero cost (`record`). Tokens come from the provider's `usage`
when it reports one, else they are estimated from the text (characters / 4) and the label set
records that its figures are estimates. A request's label set links it to its job, so a job's
calls and cost are `ledger_totals(job_id=…)`, whatever happened to the process that ran it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.orm import Session

from core.db.database import Database
from core.db.models import LabelSet, LLMCall
from core.llm_providers.wire import Message
from core.settings import Settings

# Reply tokens assumed by the estimate shown before a run: the schema's JSON plus two sentences
# of reasoning is about 120-180 tokens; 200 errs high.
EXPECTED_OUTPUT_TOKENS = 200
# A reservation is a prudent upper bound, so the cap holds even where a real tokenizer counts
# more than characters / 4: JSON full of numbers runs nearer 3 characters a token, and a reply
# with long reasoning may reach twice the expected length.
RESERVE_CHARS_PER_TOKEN = 3
RESERVED_OUTPUT_TOKENS = 2 * EXPECTED_OUTPUT_TOKENS
# Any constant 64-bit key shared by every CandleLab process (pg_advisory_xact_lock).
_BUDGET_LOCK_KEY = 0x43414E444C45  # "CANDLE"

LOST_MESSAGE = "the process ended before the request did; charged at its reservation"


def cost_usd(
    settings: Settings, model: str, tokens_in: int, tokens_out: int, *, batch: bool = False
) -> float:
    """What the tokens cost: list prices, or batch prices for work sent through a batch API."""
    price_in, price_out = (
        settings.batch_price_per_million(model) if batch else settings.price_per_million(model)
    )
    return (tokens_in * price_in + tokens_out * price_out) / 1_000_000


def reservation_usd(
    settings: Settings, model: str, messages: Sequence[Message], *, batch: bool = False
) -> float:
    """What one request reserves from the budget before it is sent (see RESERVE_CHARS_PER_TOKEN)."""
    prompt_chars = sum(len(m["content"]) for m in messages)
    tokens_in = -(-prompt_chars // RESERVE_CHARS_PER_TOKEN)
    return cost_usd(settings, model, tokens_in, RESERVED_OUTPUT_TOKENS, batch=batch)


def day_start(now: datetime | None = None) -> datetime:
    """Midnight UTC of the day `now` falls in: the budget resets then."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def spent_today(session: Session, now: datetime | None = None) -> float:
    """Today's committed spend: settled costs plus the reservations of requests still open."""
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
    status: str  # sent | ok | error | cached | lost
    http_status: int | None = None
    attempts: int = 0
    latency_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    reply_valid: bool | None = None
    batch_id: int | None = None


@dataclass(frozen=True)
class CallResult:
    """How a request ended, for `settle`."""

    status: str  # ok | error
    attempts: int
    latency_ms: float
    cost_usd: float
    http_status: int | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    reply_bytes: int = 0
    error: str | None = None
    reply_valid: bool | None = None  # the reply passed validation (None: no reply)


def record(session: Session, rows: Sequence[CallRow]) -> list[int]:
    """Insert finished rows (cache hits) in one statement; returns their ids in order."""
    if not rows:
        return []
    now = datetime.now(UTC)
    values = [{**asdict(row), "created_at": now, "finished_at": now} for row in rows]
    result = session.execute(insert(LLMCall).returning(LLMCall.id, sort_by_parameter_order=True), values)
    return [int(i) for i in result.scalars().all()]


def _serialise_reservations(session: Session) -> None:
    """Make this transaction the only one reserving until it commits (see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BUDGET_LOCK_KEY})
    # SQLite: `Database.session()` begins IMMEDIATE, so the first statement below takes the
    # database's single write lock and holds it to the commit.


def reserve(
    session: Session,
    row: CallRow,
    *,
    reserved_usd: float,
    limit_usd: float,
    expires_at: datetime,
    now: datetime | None = None,
) -> int | None:
    """Insert `row` as `sent`, charged `reserved_usd`, if that fits today's budget; else None.

    `session` must be a write transaction (`Database.session()`); commit it promptly.
    """
    now = now or datetime.now(UTC)
    _serialise_reservations(session)
    committed = spent_today(session, now)
    if committed + reserved_usd > limit_usd:
        return None
    values = {
        **asdict(row),
        "status": "sent",
        "attempts": max(1, row.attempts),
        "reserved_usd": reserved_usd,
        "cost_usd": reserved_usd,
        "created_at": now,
        "expires_at": expires_at,
    }
    return int(session.execute(insert(LLMCall).returning(LLMCall.id), values).scalar_one())


def reserve_many(
    session: Session,
    rows: Sequence[CallRow],
    reserved: Sequence[float],
    *,
    limit_usd: float,
    expires_at: datetime,
    now: datetime | None = None,
) -> list[int]:
    """`reserve` for a batch: the rows, in order, that fit today's budget (one transaction, one lock).

    Stops at the first that does not fit, so a batch takes a prefix of its points and the rest
    are left for another day.
    """
    now = now or datetime.now(UTC)
    _serialise_reservations(session)
    room = limit_usd - spent_today(session, now)
    values = []
    for row, usd in zip(rows, reserved, strict=True):
        if usd > room:
            break
        room -= usd
        values.append(
            {
                **asdict(row),
                "status": "sent",
                "attempts": 1,
                "reserved_usd": usd,
                "cost_usd": usd,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
    if not values:
        return []
    result = session.execute(insert(LLMCall).returning(LLMCall.id, sort_by_parameter_order=True), values)
    return [int(i) for i in result.scalars().all()]


def mark_attempt(session: Session, call_id: int, attempt: int, expires_at: datetime) -> None:
    """Attempt `attempt` of the request is about to be sent."""
    session.execute(
        update(LLMCall).where(LLMCall.id == call_id).values(attempts=attempt, expires_at=expires_at)
    )


def settle(session: Session, call_id: int, result: CallResult, now: datetime | None = None) -> float:
    """Record how the request ended; returns how much its charge changed (real cost - reservation)."""
    charged = session.scalar(select(LLMCall.cost_usd).where(LLMCall.id == call_id))
    if charged is None:
        raise LookupError(f"ledger row {call_id} does not exist")
    session.execute(
        update(LLMCall)
        .where(LLMCall.id == call_id)
        .values(**asdict(result), finished_at=now or datetime.now(UTC), expires_at=None)
    )
    return result.cost_usd - float(charged)


def close_lost(session: Session, now: datetime | None = None) -> int:
    """Mark requests whose process died as `lost` (still charged their reservation); returns how many."""
    now = now or datetime.now(UTC)
    result = session.execute(
        update(LLMCall)
        .where(LLMCall.status == "sent", LLMCall.expires_at < now)
        .values(status="lost", finished_at=now, expires_at=None, error=LOST_MESSAGE)
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class LedgerTotals:
    calls: int  # requests sent to a provider (cache hits excluded)
    attempts: int  # HTTP requests, retries included
    cache_hits: int
    in_flight: int  # rows still `sent`
    tokens_in: int
    tokens_out: int
    cost_usd: float
    failed: int = 0  # requests that ended in an error or were lost with their process
    invalid: int = 0  # replies that failed validation (schema or label rules)


def ledger_totals(
    session: Session,
    *,
    label_set_id: int | None = None,
    job_id: int | None = None,
    since: datetime | None = None,
) -> LedgerTotals:
    """Calls and cost from ledger rows: of a label set, of a job (via its label sets), or since a time."""
    sent = LLMCall.status != "cached"
    query = select(
        func.coalesce(func.sum(case((sent, 1), else_=0)), 0),
        func.coalesce(func.sum(case((sent, LLMCall.attempts), else_=0)), 0),
        func.coalesce(func.sum(case((sent, 0), else_=1)), 0),
        func.coalesce(func.sum(case((LLMCall.status == "sent", 1), else_=0)), 0),
        func.coalesce(func.sum(LLMCall.tokens_in), 0),
        func.coalesce(func.sum(LLMCall.tokens_out), 0),
        func.coalesce(func.sum(LLMCall.cost_usd), 0.0),
        func.coalesce(func.sum(case((LLMCall.status.in_(("error", "lost")), 1), else_=0)), 0),
        func.coalesce(func.sum(case((LLMCall.reply_valid.is_(False), 1), else_=0)), 0),
    ).select_from(LLMCall)
    if label_set_id is not None:
        query = query.where(LLMCall.label_set_id == label_set_id)
    if job_id is not None:
        query = query.join(LabelSet, LabelSet.id == LLMCall.label_set_id).where(LabelSet.job_id == job_id)
    if since is not None:
        query = query.where(LLMCall.created_at >= since)
    calls, attempts, hits, in_flight, tokens_in, tokens_out, cost, failed, invalid = session.execute(
        query
    ).one()
    return LedgerTotals(
        int(calls),
        int(attempts),
        int(hits),
        int(in_flight),
        int(tokens_in),
        int(tokens_out),
        float(cost),
        int(failed),
        int(invalid),
    )


def committed_today(db: Database, now: datetime | None = None) -> float:
    """`spent_today` in a read transaction of its own (what the pages show against the budget)."""
    with db.read() as session:
        return spent_today(session, now)


def job_totals(db: Database, job_ids: Sequence[int]) -> dict[int, LedgerTotals]:
    """`ledger_totals` of each job, in one read transaction."""
    with db.read() as session:
        return {job_id: ledger_totals(session, job_id=job_id) for job_id in job_ids}


def call_summary(db: Database, call_id: int) -> dict[str, Any] | None:
    """What one LLM request cost and how it went, for a label's detail (None: no such call)."""
    with db.read() as session:
        call = session.get(LLMCall, call_id)
        if call is None:
            return None
        return {
            "provider": call.provider,
            "model": call.model,
            "status": call.status,
            "attempts": call.attempts,
            "latency_ms": call.latency_ms,
            "tokens_in": call.tokens_in,
            "tokens_out": call.tokens_out,
            "cost_usd": call.cost_usd,
            "error": call.error,
        }
