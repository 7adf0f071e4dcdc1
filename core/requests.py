"""Typed requests: what a caller may ask the engine to do, validated once at the edge.

Every entry point (the CLI, the pages, the scheduler, a later HTTP API) builds one of these
before anything is written. Pure value checks live in the models (a finite positive lookback,
samples within bounds, bots from the bot registry, ids that fit a database column, …); checks
that need the engine or the store (labeler names, an unknown symbol, a window too small for its
points, a label set of another pair) live in `core.checks.check`, which entry points run before
submitting. The models sit low in the import layers so the engine itself takes them as input.
A job's `params` column is its request serialised (`as_params`), and a job body rebuilds it
with `parse_job_request`: one shape, defined here.

Both kinds of failure surface as `BadInput` (exit code 2, nothing written).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from core.bots import bot_names
from core.errors import BadInput
from core.llm_providers import PROVIDER_NAMES
from core.timeframes import normalise_symbol, parse_timeframe

MAX_LOOKBACK_DAYS = 36_500  # a century of bars is more than any provider has
MAX_SAMPLES = 100_000
MAX_PAGE = 10_000
DB_ID_MAX = 2**63 - 1  # ids are 64-bit integers in every supported database
ACTIVATE_MODES = ("gate", "always", "never")
TRAINING_KINDS = ("quick", "full", "manual")

DbId = Annotated[int, Field(ge=1, le=DB_ID_MAX)]
Count = Annotated[int, Field(ge=0, le=DB_ID_MAX)]

R = TypeVar("R", bound=BaseModel)


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def as_params(self) -> dict[str, Any]:
        """The request as JSON-able job params (times as ISO text)."""
        return self.model_dump(mode="json")


# Fields whose command-line spelling is not `--field-name`.
_SPELLING = {
    "label_set_id": "--label-set",
    "version_id": "VERSION_ID",
    "job_id": "JOB_ID",
    "experiment_id": "--id",
    "token_id": "TOKEN_ID",
}


def _flag(loc: tuple[int | str, ...]) -> str:
    names = [str(part) for part in loc if isinstance(part, str) and part not in ("labels",)]
    if not names:
        return "the request"
    return _SPELLING.get(names[-1], "--" + names[-1].replace("_", "-"))


def parse(model: type[R], **data: Any) -> R:
    """Build a request; a refused value becomes `BadInput` naming the option and what it takes."""
    try:
        return model(**data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{_flag(error['loc'])}: {message}" if error["loc"] else message)
        raise BadInput("; ".join(problems)) from None


def _lookback_days(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0 < value <= MAX_LOOKBACK_DAYS):
        raise ValueError(f"must be a positive number of days, at most {MAX_LOOKBACK_DAYS}")
    return value


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _names(value: object) -> tuple[str, ...]:
    """A comma-separated string or a sequence, as distinct non-empty names in the order given."""
    items = value.split(",") if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
    return tuple(dict.fromkeys(str(s).strip() for s in items if str(s).strip()))


def _bot_names(value: object) -> tuple[str, ...]:
    names = _names(value)
    if not names:
        raise ValueError(f"no bots given; use one or more of {', '.join(bot_names())}")
    unknown = [n for n in names if n not in bot_names()]
    if unknown:
        raise ValueError(f"unknown bot {unknown[0]!r}; use one of {', '.join(bot_names())}")
    return names


class PairRequest(_Request):
    """A (symbol, timeframe) pair in its canonical spelling."""

    symbol: str
    timeframe: str

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        return normalise_symbol(value)

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str) -> str:
        return parse_timeframe(value).code


class LabelOptions(_Request):
    """How to sample and label points (the `label` command, or the first stage of a training run)."""

    lookback_days: float | None = None
    samples: int = Field(50, ge=1, le=MAX_SAMPLES)
    labeler: str | None = None  # None: the LLM when configured, else the rule-based analyst
    sampling: str = "mixed"
    seed: int = Field(0, ge=0, le=2**32 - 1)
    refresh: bool = False
    bypass_cache: bool = False
    end: datetime | None = None
    llm_provider: str | None = None
    # Someone is waiting (the chart's quick training): label synchronously, never through a batch.
    urgent: bool = False

    @field_validator("lookback_days")
    @classmethod
    def _lookback(cls, value: float | None) -> float | None:
        return _lookback_days(value)

    @field_validator("llm_provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is not None and value not in PROVIDER_NAMES:
            raise ValueError(f"unknown LLM provider {value!r}; use one of {', '.join(PROVIDER_NAMES)}")
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class LabelingRequest(PairRequest, LabelOptions):
    """A label-only run: sample points of a pair and label them."""

    kind: Literal["label"] = "label"

    def options(self) -> LabelOptions:
        return LabelOptions(**self.model_dump(exclude={"kind", "symbol", "timeframe"}))


class TrainingRequest(PairRequest):
    """Train bots on an existing label set, or label first (`labels`) and train on the result."""

    kind: Literal["quick", "full", "manual"] = "manual"
    bots: tuple[str, ...]
    label_set_id: DbId | None = None
    labels: LabelOptions | None = None
    activate: Literal["gate", "always", "never"] = "gate"
    seed: int = Field(0, ge=0, le=2**32 - 1)
    bot_params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("bots", mode="before")
    @classmethod
    def _bots(cls, value: object) -> object:
        return _bot_names(value)

    @model_validator(mode="after")
    def _one_source(self) -> TrainingRequest:
        if self.label_set_id is not None and self.labels is not None:
            raise ValueError("give either a label set or labeling options, not both")
        return self

    def labeling_request(self) -> LabelingRequest:
        """The labeling stage of a run without a label set."""
        options = (self.labels or LabelOptions()).model_dump()
        if self.kind == "quick":
            options["urgent"] = True
        return LabelingRequest(symbol=self.symbol, timeframe=self.timeframe, **options)

    @property
    def llm_provider(self) -> str | None:
        return self.labels.llm_provider if self.labels else None


class RetrainRequest(PairRequest):
    """Continuous learning for one pair from its closed paper or live samples."""

    kind: Literal["retrain"] = "retrain"
    min_samples: int = Field(ge=1, le=DB_ID_MAX)
    bots: tuple[str, ...] | None = None


class RetrainSweep(_Request):
    """`retrain`: every pair with enough closed samples, one retrain job each."""

    min_samples: int = Field(ge=1, le=DB_ID_MAX)


class TriggerRequest(PairRequest):
    """The chart-view path: quick training when the pair is stale (or `force`, the Retrain button)."""

    force: bool = False


class ExperimentRequest(PairRequest):
    """The labeler experiment: the same bots on the same window and folds, once per labeler.

    Which labeler names exist, whether the LLM is configured and whether the window holds enough
    points are the store's to say (`core.checks`); the folds default to `WALKFORWARD_FOLDS`.
    """

    labelers: tuple[str, ...]
    bots: tuple[str, ...] = ("xgb_agent", "ensemble_bot")
    samples: int = Field(200, ge=1, le=MAX_SAMPLES)
    sampling: str = "mixed"
    seed: int = Field(0, ge=0, le=2**32 - 1)
    lookback_days: float | None = None
    end: datetime | None = None
    folds: int | None = Field(None, ge=1, le=20)
    bot_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Rank an LLM labeler even on a window wholly before its model's knowledge cutoff (the result
    # is marked as forced): without it such an experiment is refused.
    force: bool = False

    @field_validator("labelers", mode="before")
    @classmethod
    def _labelers(cls, value: object) -> object:
        names = tuple(dict.fromkeys(n.lower() for n in _names(value)))
        if len(names) < 2:
            raise ValueError("an experiment compares at least two labelers, e.g. --labelers rules,next_price")
        return names

    @field_validator("bots", mode="before")
    @classmethod
    def _bots(cls, value: object) -> object:
        return _bot_names(value)

    @field_validator("lookback_days")
    @classmethod
    def _lookback(cls, value: float | None) -> float | None:
        return _lookback_days(value)

    @field_validator("end")
    @classmethod
    def _end(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class ExperimentRef(_Request):
    """An experiment named by id (`experiments --id`)."""

    experiment_id: DbId


class ActivateRequest(_Request):
    version_id: DbId
    reason: str = Field("manual activation", max_length=500)


class JobRef(_Request):
    """A job named by id (`jobs run`, `jobs cancel`)."""

    job_id: DbId


class RollbackRequest(PairRequest):
    bot: str
    reason: str | None = Field(None, max_length=500)

    @field_validator("bot")
    @classmethod
    def _bot(cls, value: str) -> str:
        if value not in bot_names():
            raise ValueError(f"unknown bot {value!r}; use one of {', '.join(bot_names())}")
        return value


class PageRequest(_Request):
    """A page of a listing (`--limit`, `--offset`)."""

    limit: int = Field(50, ge=0, le=MAX_PAGE)
    offset: Count = 0


JobRequest = Annotated[LabelingRequest | TrainingRequest | RetrainRequest, Field(discriminator="kind")]
_JOB_REQUEST: TypeAdapter[LabelingRequest | TrainingRequest | RetrainRequest] = TypeAdapter(JobRequest)
JOB_KINDS: tuple[str, ...] = ("label", *TRAINING_KINDS, "retrain")


def parse_job_request(
    kind: str, params: dict[str, Any]
) -> LabelingRequest | TrainingRequest | RetrainRequest:
    """Rebuild the request a job was submitted with from its row (`kind` plus `params`)."""
    try:
        return _JOB_REQUEST.validate_python({**params, "kind": kind})
    except ValidationError as exc:
        raise BadInput(
            f"job parameters do not form a {kind} request: {exc.errors(include_url=False)}"
        ) from None


# --- the service API: tokens, and a trading engine's executed signals ------------------------

TOKEN_SCOPES = ("read", "train", "activate", "outcomes")
TOKEN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,31}$"  # fits every column that records who
MAX_TOKEN_DAYS = 3650
ORDER_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"  # URL-safe: it names the close route
MAX_FEATURES = 500

Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


def _matching(pattern: str, what: str) -> Any:
    """A validator that refuses a value not matching `pattern`, saying what is allowed."""

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must be {what}")
        return value

    return check


class TokenRequest(_Request):
    """`tokens create`: a named bearer token of the service API holding some scopes."""

    name: str
    scopes: tuple[str, ...]
    expires_days: float | None = None

    _name = field_validator("name")(
        _matching(TOKEN_NAME, "1-32 letters, digits or . _ @ -, starting with a letter or digit")
    )

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
        names = tuple(dict.fromkeys(str(s).strip() for s in items if str(s).strip()))
        unknown = [n for n in names if n not in TOKEN_SCOPES]
        if not names or unknown:
            what = f"unknown scope {unknown[0]!r}" if unknown else "no scopes given"
            raise ValueError(f"{what}; use one or more of {', '.join(TOKEN_SCOPES)}")
        return names

    @field_validator("expires_days")
    @classmethod
    def _days(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and 0 < value <= MAX_TOKEN_DAYS):
            raise ValueError(f"must be a positive number of days, at most {MAX_TOKEN_DAYS}")
        return value


class TokenRef(_Request):
    """A token named by id (`tokens revoke ID`)."""

    token_id: DbId


class ExecutionRequest(_Request):
    """A trading engine executed a model's call: what it predicted, what it saw, which version.

    `predicted_at` is the bar time of the call (`as_of` in `GET /ai/signals`); the pair and the
    bot are the version's. `order_id` is the engine's own id of the order: the key a retry uses.
    """

    order_id: str
    version_id: DbId
    recommendation: Literal["BUY", "SELL"]
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    entry_price: Price
    predicted_at: datetime
    target: Price
    stop_loss: Price
    predicted_return: Finite | None = None
    features: dict[Annotated[str, Field(max_length=64)], Finite | None] = Field(
        default_factory=dict, max_length=MAX_FEATURES
    )
    source: Literal["live", "paper"] = "live"

    _order_id = field_validator("order_id")(
        _matching(ORDER_ID, "1-64 letters, digits or . _ : -, starting with a letter or digit")
    )
    _predicted_at = field_validator("predicted_at")(_utc)

    @model_validator(mode="after")
    def _levels(self) -> ExecutionRequest:
        buy = self.recommendation == "BUY"
        if (self.stop_loss < self.target) != buy or self.stop_loss == self.target:
            order = "stop_loss < target" if buy else "target < stop_loss"
            raise ValueError(f"a {self.recommendation} needs {order}")
        return self


class CloseRequest(_Request):
    """The position of an executed call closed: where, when, why, and (when the broker says) its P&L."""

    exit_price: Price
    exit_time: datetime
    exit_reason: Literal["target", "stop", "timeout", "manual"]
    quantity: float = Field(1.0, gt=0, allow_inf_nan=False)
    pnl: Finite | None = None  # the broker's realised P&L, costs included; else price move x quantity

    _exit_time = field_validator("exit_time")(_utc)
