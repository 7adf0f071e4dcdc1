"""The relational schema. It changes only through Alembic migrations in `core/migrations`.

Uniqueness rules that must hold across processes are enforced by the database itself:
a nullable `active_slot` column with a unique constraint holds "symbol|timeframe[|bot]" while a
row is the active one (or the queued/running job) and NULL otherwise. NULLs never collide in a
unique constraint on SQLite or PostgreSQL, so this works on both without partial indexes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from core.db.types import UTCDateTime, guard_numeric_columns, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = dict[str, Any]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[object, object]] = {datetime: UTCDateTime(), Json: JSON()}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        table = cls.__dict__.get("__table__")
        if table is not None:  # NaN and infinities never reach a column (core.db.types)
            guard_numeric_columns(table)


@event.listens_for(Mapper, "after_configured")
def _guard_late_typed_columns() -> None:
    """A foreign key declared before its target table gets its type only once both exist."""
    for table in Base.metadata.tables.values():
        guard_numeric_columns(table)


def _symbol() -> Mapped[str]:
    return mapped_column(String(32), nullable=False)


def _timeframe() -> Mapped[str]:
    return mapped_column(String(8), nullable=False)


# --- market data ------------------------------------------------------------------------------


class BarSeries(Base):
    """One (symbol, timeframe) series: where its bars came from and how fresh they are."""

    __tablename__ = "bar_series"
    __table_args__ = (UniqueConstraint("symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    source: Mapped[str] = mapped_column(String(32))
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    last_fetched_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The registry name of the provider that produces the series ("csv" for an imported file):
    # a refresh asks only that provider.
    provider: Mapped[str | None] = mapped_column(String(16))
    file_name: Mapped[str | None] = mapped_column(String(255))  # the imported file, when imported
    import_format: Mapped[str | None] = mapped_column(String(16))  # e.g. "mt5", "tradingview"
    # The market's price precision, derived from the bars (EURUSD 5 decimals, equities 2).
    price_decimals: Mapped[int | None] = mapped_column(Integer)
    tick_size: Mapped[float | None] = mapped_column(Float)


class Bar(Base):
    __tablename__ = "bars"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))


# --- labels and the LLM ledger ----------------------------------------------------------------


class LabelSet(Base):
    """A labeling run: its parameters, labeler, prompt version, costs and quality summary."""

    __tablename__ = "label_sets"
    __table_args__ = (Index(None, "symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    labeler: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    sampling: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int] = mapped_column(Integer, default=0)
    lookback_days: Mapped[int | None] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    labeled: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(24), default="running")
    message: Mapped[str | None] = mapped_column(Text)
    params: Mapped[Json] = mapped_column(default=dict)
    quality: Mapped[Json | None]
    data_start: Mapped[datetime | None]
    data_end: Mapped[datetime | None]
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The LLM's training-data cutoff when it labeled (None for offline labelers), and how many of
    # its replies failed validation (schema or label rules): the run's invalid-reply count.
    knowledge_cutoff: Mapped[date | None] = mapped_column(Date)
    invalid_replies: Mapped[int] = mapped_column(Integer, default=0)


class Label(Base):
    """One labeled point: the reply as validated, the context sent, and its outcome in reality."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("label_set_id", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label_set_id: Mapped[int] = mapped_column(ForeignKey("label_sets.id", ondelete="CASCADE"), index=True)
    ts: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    reject_reason: Mapped[str | None] = mapped_column(Text)
    current_price: Mapped[float] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    stop_loss: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    recommendation: Mapped[str | None] = mapped_column(String(8))
    bias: Mapped[str | None] = mapped_column(String(8))
    news_sentiment: Mapped[float | None] = mapped_column(Float)
    horizon_bars: Mapped[int | None] = mapped_column(Integer)
    reasoning: Mapped[str | None] = mapped_column(Text)
    raw_reply: Mapped[str | None] = mapped_column(Text)
    context: Mapped[Json | None]
    llm_call_id: Mapped[int | None] = mapped_column(ForeignKey("llm_calls.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(16))  # target_first | stop_first | neither | pending
    outcome_return: Mapped[float | None] = mapped_column(Float)
    outcome_bars: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[datetime | None]
    # The firewall: the cutoff of the model that made the label, and whether the point lies before
    # it (the model may remember what came next). None for offline labelers.
    knowledge_cutoff: Mapped[date | None] = mapped_column(Date)
    pre_cutoff: Mapped[bool | None] = mapped_column(Boolean)


class LLMCall(Base):
    """The cost ledger: one row per logical request (cache hits included, at zero cost).

    A request's row is written before it is sent (status `sent`, charged its reservation) and
    completed when it ends, so a killed process leaves its in-flight requests charged, not lost.
    """

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    label_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("label_sets.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    cache_key: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # sent | ok | error | cached | lost
    http_status: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The budget reservation taken before sending; cost_usd holds it until the real cost settles it.
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    reply_bytes: Mapped[int] = mapped_column(Integer, default=0)  # body bytes read, over all attempts
    finished_at: Mapped[datetime | None]
    # While `sent`: when the request can no longer be running (its attempts and their waits spent).
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    # Whether the reply passed validation (None: no reply); invalid replies are counted per run.
    reply_valid: Mapped[bool | None] = mapped_column(Boolean)
    # The provider batch the request travels in (None: sent on its own); its custom_id is this id.
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("llm_batches.id", ondelete="SET NULL"), index=True
    )


class LLMBatch(Base):
    """One provider batch (OpenAI Batch API): stored before it is submitted, so a restarted
    process finds it by `request_key` and resumes polling instead of submitting it again."""

    __tablename__ = "llm_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    label_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("label_sets.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the sorted cache keys of its requests: the same work asked again is this batch.
    request_key: Mapped[str] = mapped_column(String(64), index=True)
    remote_id: Mapped[str | None] = mapped_column(String(128))
    input_file_id: Mapped[str | None] = mapped_column(String(128))
    output_file_id: Mapped[str | None] = mapped_column(String(128))
    error_file_id: Mapped[str | None] = mapped_column(String(128))
    # preparing (not yet submitted) | validating | in_progress | finalizing | completed | failed |
    # expired | cancelling | cancelled, then `collected` once its results are stored.
    status: Mapped[str] = mapped_column(String(16), index=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class LLMProbe(Base):
    """A recall probe: does the model remember stored closes before its cutoff (and not after)?"""

    __tablename__ = "llm_probes"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    knowledge_cutoff: Mapped[date] = mapped_column(Date)
    result: Mapped[Json] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LLMResponseCache(Base):
    """Replies by (provider, model, prompt, parameters) hash, so identical re-runs cost nothing."""

    __tablename__ = "llm_response_cache"

    cache_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    response_text: Mapped[str] = mapped_column(Text)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- training jobs, versions and the registry -------------------------------------------------


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (Index(None, "symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # quick | full | retrain | manual
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    params: Mapped[Json] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(24), index=True)
    active_slot: Mapped[str | None] = mapped_column(String(64), unique=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="queued")
    requested_by: Mapped[str] = mapped_column(String(32), default="cli")
    owner: Mapped[str | None] = mapped_column(String(128))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    label_set_id: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[Json | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class ModelTrainingRecord(Base):
    """One bot trained in one run, successful or not, with its configuration and cost."""

    __tablename__ = "model_training_records"
    __table_args__ = (Index(None, "symbol", "timeframe", "bot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("training_jobs.id", ondelete="SET NULL"))
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    bot: Mapped[str] = mapped_column(String(32))
    training_type: Mapped[str] = mapped_column(String(16))
    label_set_id: Mapped[int | None] = mapped_column(ForeignKey("label_sets.id", ondelete="SET NULL"))
    version_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    config: Mapped[Json] = mapped_column(default=dict)
    samples_used: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    wall_s: Mapped[float | None] = mapped_column(Float)


class AIModelVersion(Base):
    __tablename__ = "ai_model_versions"
    __table_args__ = (
        Index(None, "symbol", "timeframe", "bot"),
        UniqueConstraint("symbol", "timeframe", "bot", "bot_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    status: Mapped[str] = mapped_column(String(16), default="ready")  # ready | broken | pruned
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    active_slot: Mapped[str | None] = mapped_column(String(80), unique=True)
    training_type: Mapped[str] = mapped_column(String(16), default="manual")
    artifact_path: Mapped[str | None] = mapped_column(String(500))
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    artifact_bytes: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[Json] = mapped_column(default=dict)
    params: Mapped[Json] = mapped_column(default=dict)
    lineage: Mapped[Json] = mapped_column(default=dict)
    label_set_id: Mapped[int | None] = mapped_column(ForeignKey("label_sets.id", ondelete="SET NULL"))
    training_record_id: Mapped[int | None] = mapped_column(Integer)
    broken_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    # The bot's own version number within its (symbol, timeframe): 1, 2, 3 ... (ids are global).
    bot_version: Mapped[int | None] = mapped_column(Integer)
    # The promotion gate's verdict on this version (core.registry.gate.VERDICTS) and why.
    gate_verdict: Mapped[str | None] = mapped_column(String(16), index=True)
    gate_reason: Mapped[str | None] = mapped_column(Text)


class ModelActivation(Base):
    """The activation history: who switched which version in, and from which."""

    __tablename__ = "model_activations"
    __table_args__ = (Index(None, "symbol", "timeframe", "bot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    bot: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(ForeignKey("ai_model_versions.id", ondelete="CASCADE"))
    previous_version_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "activate" (a version switched in) or "deactivate" (taken out of service, e.g. demoted).
    action: Mapped[str] = mapped_column(String(16), default="activate", server_default="activate")


# --- continuous learning ----------------------------------------------------------------------


class AITrainingSample(Base):
    """An executed prediction (paper or live) and, once the position closes, its outcome."""

    __tablename__ = "ai_training_samples"
    __table_args__ = (
        Index(None, "symbol", "timeframe", "bot", "status"),
        UniqueConstraint("version_id", "predicted_at", "source"),
        Index(None, "order_id", unique=True),  # a trading engine's retried request finds its row
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    bot: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("ai_model_versions.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(16), default="paper")  # paper | live
    predicted_at: Mapped[datetime]
    recommendation: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    entry_price: Mapped[float] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    stop_loss: Mapped[float | None] = mapped_column(Float)
    predicted_return: Mapped[float | None] = mapped_column(Float)
    features: Mapped[Json] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    exit_price: Mapped[float | None] = mapped_column(Float)
    exit_time: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(16))  # target | stop | timeout | manual
    pnl: Mapped[float | None] = mapped_column(Float)
    pnl_pct: Mapped[float | None] = mapped_column(Float)
    prediction_correct: Mapped[bool | None] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    fees: Mapped[float | None] = mapped_column(Float)  # commission charged, in price units per unit
    order_id: Mapped[str | None] = mapped_column(String(64))  # the client's id (service API)


class ScheduledRun(Base):
    """One firing of a scheduled task; the unique (name, slot) makes it run once across processes."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("name", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    slot: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="running")
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


# --- experiments ------------------------------------------------------------------------------


class Experiment(Base):
    """One labeler experiment: the same bots, window and folds trained on each labeler's labels."""

    __tablename__ = "experiments"
    __table_args__ = (Index(None, "symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = _symbol()
    timeframe: Mapped[str] = _timeframe()
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | succeeded | failed
    labelers: Mapped[list[str]] = mapped_column(JSON, default=list)
    bots: Mapped[list[str]] = mapped_column(JSON, default=list)
    label_sets: Mapped[Json] = mapped_column(default=dict)  # labeler -> label set id
    params: Mapped[Json] = mapped_column(default=dict)  # samples, sampling, seed, window, folds, costs
    comparisons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64), default="cli")
    wall_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ExperimentResult(Base):
    """One (labeler, bot) row of an experiment: its out-of-sample metrics."""

    __tablename__ = "experiment_results"
    __table_args__ = (UniqueConstraint("experiment_id", "labeler", "bot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    labeler: Mapped[str] = mapped_column(String(16))
    bot: Mapped[str] = mapped_column(String(32))
    label_set_id: Mapped[int | None] = mapped_column(ForeignKey("label_sets.id", ondelete="SET NULL"))
    metrics: Mapped[Json] = mapped_column(default=dict)


# --- access: roles and the audit log ----------------------------------------------------------


class UserRole(Base):
    """A signed-in user's role, keyed by their e-mail (lower case) or their provider's subject."""

    __tablename__ = "user_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | operator | admin
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One state-changing attempt: who, what, when and how it ended.

    Append-only: the migration installs triggers that make UPDATE and DELETE raise, on SQLite
    and PostgreSQL alike, and no code path issues either.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "actor"), Index(None, "action"), Index(None, "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | cli | token | system
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded | refused | failed
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[Json] = mapped_column(default=dict)
    # The hash chain (core.access.audit_chain): each row's SHA-256 over its canonical content and
    # the previous row's hash, so an edit, a deletion or a reordering breaks every later link.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    # Identical refusals by one actor within a minute are counted on the first row: the count and
    # the time of the last one are the only columns an UPDATE may touch (and only upwards); their
    # own hash over the row's hash keeps them honest too.
    repeats: Mapped[int] = mapped_column(default=1, server_default="1")
    last_at: Mapped[datetime | None]
    tally_hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The end of the audit chain (one row): a row deleted from the end of the log shows here."""

    __tablename__ = "audit_log_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(default=0)


# --- service API ------------------------------------------------------------------------------


class ApiToken(Base):
    """A bearer token of the service API: only the SHA-256 of its secret is kept.

    `active_name` holds the name while the token is not revoked (NULL after), so two live tokens
    never share a name and every action stays attributable to one of them.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    active_name: Mapped[str | None] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
