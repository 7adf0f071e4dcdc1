"""The API's own shapes: the original system's request bodies and every response, for OpenAPI.

Bodies here only spell the original system's field names; what values they take is decided by
the engine's typed requests (`core.requests`) they are mapped to, so no option is defined twice.
Bodies that match a typed request as is (`TriggerRequest`, `ExecutionRequest`, `CloseRequest`)
are used directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.bots import BOTS
from core.jobs.store import JOB_STATUSES, JobView
from core.labeling.labelers import LABELERS
from core.requests import MAX_LOOKBACK_DAYS, MAX_SAMPLES, json_int
from core.timeframes import TIMEFRAMES

# What the API's parameters take, stated in its OpenAPI schema exactly as the engine enforces it
# (core.timeframes.normalise_symbol, parse_timeframe, the bot and labeler registries): a client
# reading the schema knows every value the API will refuse.
SYMBOL_PATTERN = r"^\^?[A-Za-z0-9][A-Za-z0-9_=&-]*(\.[A-Za-z0-9_=&-]+)*$"
Symbol = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=SYMBOL_PATTERN,
        description="a ticker as Yahoo spells it: GOOG, INFY.NS, EURUSD=X, ^GSPC, BTC-USD",
    ),
]
TimeframeCode = Literal[tuple(TIMEFRAMES)]  # type: ignore[valid-type]
BotName = Literal[tuple(BOTS.names())]  # type: ignore[valid-type]
LabelerName = Literal[LABELERS.names()]  # type: ignore[valid-type]
JobStatus = Literal[JOB_STATUSES]  # type: ignore[valid-type]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateDatasetBody(_Body):
    """`POST /api/ai-training/generate-dataset`: label points of a pair, then (by default) train."""

    symbol: Symbol
    timeframe: TimeframeCode
    lookback_days: float | None = Field(
        None,
        gt=0,
        le=MAX_LOOKBACK_DAYS,
        strict=True,
        description="days back from the newest stored bar (default: FULL_LOOKBACK_DAYS, widened "
        "when the series is too sparse for the points)",
    )
    sample_points: json_int(1, MAX_SAMPLES) | None = Field(  # type: ignore[valid-type]
        None, description="points to label (default FULL_SAMPLES)"
    )
    bot_names: list[BotName] | None = Field(
        None, min_length=1, max_length=16, description="bots to train (default FULL_BOTS)"
    )
    use_for_training: bool = Field(True, strict=True, description="false: label only (a job of kind `label`)")
    labeler: LabelerName | None = Field(
        None, description="who labels the points (default: the LLM when configured, else rules)"
    )


class TriggerBody(_Body):
    """`POST /api/ai-training/trigger-for-active-symbol`: the chart-view path."""

    symbol: Symbol
    timeframe: TimeframeCode
    force: bool = Field(False, strict=True, description="train even when the models are fresh")


class ActivateBody(_Body):
    reason: str | None = Field(None, max_length=500, description="why (kept in the activation history)")


class ErrorDetail(BaseModel):
    message: str
    type: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str
    version: str
    database: str


class JobStarted(BaseModel):
    job_id: int
    kind: str
    status: str


class Jobs(BaseModel):
    jobs: list[JobView]


class TriggerAnswer(BaseModel):
    job_id: int | None
    started: bool
    reason: str
    state: str = Field(description="started, busy, fresh or failed_input")


class RetrainAnswer(BaseModel):
    job_ids: list[int]
    skipped: list[dict[str, Any]]


class Evidence(BaseModel):
    """A version's walk-forward out-of-sample numbers, as the promotion gate reads them."""

    directional_accuracy: float | None
    directional_accuracy_n: int | None = Field(description="out-of-sample bars judged")
    directional_effective_n: int | None = Field(
        description="independent points among them (bars at least one horizon apart)"
    )
    directional_accuracy_ci: list[float] | None = Field(description="95 % interval")
    baseline_directional_accuracy: float | None
    baseline_kind: str | None
    directional_edge: float | None = Field(description="accuracy minus the baseline's")
    edge_p_value: float | None = Field(description="one-sided test of the edge on the independent points")
    hit_rate: float | None = Field(description="share of its trades won, after costs")
    baseline_hit_rate: float | None = Field(description="the baseline's, under the same rules")
    pnl: float | None
    baseline_pnl: float | None
    calibration: str = Field(description="how signal confidence is calibrated: isotonic, constant or none")
    has_evidence: bool = Field(description="it beats the baseline significantly on enough points")
    evidence_reason: str


class Version(BaseModel):
    version_id: int
    bot: str
    bot_version: int | None = Field(description="the bot's own number within its pair (v3)")
    symbol: str
    timeframe: str
    created_at: datetime
    is_active: bool
    status: str = Field(description="ready, broken or discarded")
    training_type: str
    label_set_id: int | None
    activated_at: datetime | None
    broken_reason: str | None
    gate_verdict: str | None = Field(description="promote, keep_active, no_evidence or below_baseline")
    gate_reason: str | None
    evidence: Evidence
    metrics: dict[str, Any]


class Versions(BaseModel):
    versions: list[Version]


class Activation(BaseModel):
    version_id: int
    previous_active_id: int | None


class Sample(BaseModel):
    id: int
    order_id: str | None = None
    symbol: str
    timeframe: str
    bot: str
    version_id: int | None
    source: str
    predicted_at: datetime
    recommendation: str
    confidence: float
    entry_price: float
    target: float | None
    stop_loss: float | None
    predicted_return: float | None
    status: str
    exit_price: float | None
    exit_time: datetime | None
    exit_reason: str | None
    pnl: float | None
    pnl_pct: float | None
    prediction_correct: bool | None
    recorded_at: datetime
    closed_at: datetime | None
    features: dict[str, float | None] | None = None


class Samples(BaseModel):
    total: int
    samples: list[Sample]


class Outcome(Sample):
    replayed: bool = Field(
        description="true: this request repeated one already recorded (nothing new written)"
    )


class Signal(BaseModel):
    bot: str
    version_id: int | None
    bot_version: int | None
    gate_verdict: str | None = Field(description="what the promotion gate said of the version")
    as_of: datetime = Field(description="the bar the call was made at (its close is current_price)")
    valid_until: datetime = Field(description="as_of plus horizon_bars bars: never act on it later")
    stale: bool
    current_price: float
    recommendation: str
    target: float
    stop_loss: float
    confidence: float = Field(
        description="calibrated on the version's out-of-sample outcomes (see evidence.calibration)"
    )
    raw_confidence: float | None = Field(description="the model's own confidence, before calibration")
    bias: str
    predicted_return: float
    evidence: Evidence


class Signals(BaseModel):
    symbol: str
    timeframe: str
    as_of: datetime | None = Field(description="the newest stored bar of the pair")
    horizon_bars: int
    signals: list[Signal]
    features: dict[str, float | None] = Field(
        description="the indicators at as_of: post them back with an executed call"
    )
    errors: dict[str, str] = Field(description="active bots whose model could not be loaded, with why")
    reason: str | None = Field(description="why there is no usable call, when there is none")
