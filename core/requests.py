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
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from core.bots import BOTS
from core.errors import BadInput
from core.llm_providers import LLM_PROVIDERS
from core.timeframes import normalise_symbol, parse_timeframe

MAX_LOOKBACK_DAYS = 36_500  # a century of bars is more than any provider has
MAX_SAMPLES = 100_000
MAX_PAGE = 10_000
# Ids are 64-bit integers in every supported database, but a JSON client reads integers exactly
# only up to 2**53 - 1 (JavaScript's MAX_SAFE_INTEGER): the bound every entry point states.
DB_ID_MAX = 2**53 - 1
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
        raise ValueError(f"no bots given; use one or more of {', '.join(BOTS.names())}")
    unknown = [n for n in names if n not in BOTS.names()]
    if unknown:
        raise ValueError(f"unknown bot {unknown[0]!r}; use one of {', '.join(BOTS.names())}")
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
        if value is not None and value not in LLM_PROVIDERS:
            raise ValueError(str(LLM_PROVIDERS.unknown(value)))
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
    # Also label this many newest stored bars for free (hindsight) and train and judge on the
    # union; 0 trains on the label set alone (`QUICK_HISTORY_BARS` for the chart path).
    history_bars: int = Field(0, ge=0, le=10_000_000)

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
    # First replay this many newest bars as paper trades (`simulate` with its defaults), so the
    # loop closes offline in one job: the Samples page's "Replay and retrain".
    replay_bars: int = Field(0, ge=0, le=10_000_000)


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
        if value not in BOTS.names():
            raise ValueError(f"unknown bot {value!r}; use one of {', '.join(BOTS.names())}")
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

# Plausible bounds, stated in the OpenAPI schema as enforced: no traded price reaches a billion per
# unit, and times fall between 1970 and 2099 (a year 0001 or 9999 is a client's bug, not a trade).
# Numbers and flags are strict: `true` is not 1.0 and "5" is not 5.
MIN_PRICE, MAX_PRICE = 1e-9, 1e9
MIN_QUANTITY, MAX_QUANTITY = 1e-9, 1e9
MAX_PNL = 1e18  # MAX_PRICE x MAX_QUANTITY: a computed P&L is always finite
MAX_FEATURE = 1e15
# An RFC 3339 time between 1970 and 2099 whose every match is a real date (days per month, leap
# years), so the pattern alone is the whole rule: the schema states it and the API applies it.
# The offset may be left out (the time is then UTC), and so may the clock (a daily bar's date).
_YEAR = "(?:19[7-9][0-9]|20[0-9][0-9])"
_LEAP_YEAR = "(?:19(?:7[26]|8[048]|9[26])|20(?:[02468][048]|[13579][26]))"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_CLOCK = (
    "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
TIME_PATTERN = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)(?:T{_CLOCK})?$"
Price = Annotated[float, Field(ge=MIN_PRICE, le=MAX_PRICE, allow_inf_nan=False, strict=True)]
Finite = Annotated[float, Field(allow_inf_nan=False, strict=True)]


def _json_number(value: object) -> object:
    """A JSON body's number stays a number: `true` and "5" are refused, 5.0 is the integer 5."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number, not text or true/false")
    return value


def json_int(low: int, high: int) -> Any:
    """An integer body field within [low, high] that takes no text or flag (query values are text)."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_json_number)]


def _plausible_time(value: object) -> object:
    """An ISO 8601 text (or a datetime from Python callers) between 1970 and 2099."""
    if isinstance(value, datetime):
        text = value.isoformat().replace("+00:00", "Z")
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("must be an ISO 8601 time text, e.g. 2026-01-31T15:30:00Z")
    if not re.fullmatch(TIME_PATTERN[1:-1], text):
        raise ValueError("must be an RFC 3339 time between 1970 and 2099, e.g. 2026-01-31T15:30:00Z")
    return value


PlausibleTime = Annotated[
    datetime,
    BeforeValidator(_plausible_time),
    AfterValidator(_utc),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TIME_PATTERN,
            "description": "an RFC 3339 date-time (or a date) between 1970 and 2099; UTC without an offset",
            "examples": ["2026-01-31T15:30:00Z"],
        }
    ),
]


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
    Its levels are recorded as the engine set them; a call whose stop is not on the losing side of
    its target (a BUY needs stop_loss < target) is kept as a record of what was done, and
    retraining leaves it out (core.learning.retrain): a rule between two fields that no schema
    can state is not a reason to lose the record of an executed order.
    """

    order_id: str = Field(pattern=ORDER_ID, description="1-64 letters, digits or . _ : -")
    version_id: json_int(1, DB_ID_MAX)  # type: ignore[valid-type]
    recommendation: Literal["BUY", "SELL"]
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False, strict=True)
    entry_price: Price
    predicted_at: PlausibleTime
    target: Price
    stop_loss: Price
    predicted_return: Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False, strict=True)] | None = None
    features: dict[
        Annotated[str, Field(max_length=64)],
        Annotated[float, Field(ge=-MAX_FEATURE, le=MAX_FEATURE, allow_inf_nan=False, strict=True)] | None,
    ] = Field(default_factory=dict, max_length=MAX_FEATURES)
    source: Literal["live", "paper"] = "live"

    @property
    def levels_agree(self) -> bool:
        """Whether the stop sits on the losing side of the target for this call."""
        buy = self.recommendation == "BUY"
        return self.stop_loss < self.target if buy else self.target < self.stop_loss


class CloseRequest(_Request):
    """The position of an executed call closed: where, when, why, and (when the broker says) its P&L."""

    exit_price: Price
    exit_time: PlausibleTime
    exit_reason: Literal["target", "stop", "timeout", "manual"]
    quantity: float = Field(1.0, ge=MIN_QUANTITY, le=MAX_QUANTITY, allow_inf_nan=False, strict=True)
    # The broker's realised P&L, costs included; else price move x quantity.
    pnl: Annotated[float, Field(ge=-MAX_PNL, le=MAX_PNL, allow_inf_nan=False, strict=True)] | None = None
