"""The one typed settings object: every knob CandleLab reads from the environment or `.env`.

Nothing else in the code base calls `os.getenv`; modules receive a `Settings` instance (usually
through `core.context.Context`) so tests can build one with a temporary home and no globals.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core import masking
from core.errors import BadInput

# Both are light by design (no httpx, no database): the provider registry and the price table.
from core.llm_providers import LLM_PROVIDERS
from core.llm_providers.prices import BATCH_DISCOUNT, DEFAULT_LLM_PRICES, cutoff_for, parse_prices, price_for
from core.plugin_settings import SECRET_URL, PluginSettings, secret_values_of
from core.urls import redact_url, url_secrets

ASSET_CLASSES = ("equity", "fx", "crypto")  # the classes TRADING_COSTS_BPS prices

P = TypeVar("P", bound=PluginSettings)

# What the provider-neutral LLM knobs are when neither LLM_* nor the provider's own name is set.
LLM_DEFAULTS: dict[str, float] = {"timeout": 30.0, "temperature": 0.7, "cache_ttl": 300}


@dataclass(frozen=True)
class LLMOptions:
    """What one run's requests use, resolved for its provider (see `Settings.llm_options`)."""

    provider: str
    model: str
    temperature: float
    timeout_s: float  # the whole attempt (connect, send, full read) and each read within it
    cache_ttl_s: int
    max_reply_bytes: int
    concurrency: int
    max_retries: int
    structured_outputs: bool = True  # send the label schema as `response_format` where supported


class Settings(BaseSettings):
    """CandleLab configuration. Field names map to the upper-case variables in CONTRACTS.md."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    # --- storage (CONTRACTS §3) -------------------------------------------------------------
    candlelab_home: Path = Path("data/runtime")
    # A URL that may carry a password: its credential parts are secrets (core.urls.url_secrets).
    database_url: str | None = Field(None, json_schema_extra=SECRET_URL)

    # --- shared storage and execution (CONTRACTS §3, §5) --------------------------------------
    # Where model artifacts live: file:// (default: CANDLELAB_HOME/models) or an fsspec URL every
    # worker reaches, such as s3://bucket/prefix. It may carry credentials: a secret.
    artifact_url: SecretStr | None = None
    # S3 (and S3-compatible servers: MinIO, Ceph, moto) under the AWS CLI's names; without them
    # botocore's own chain applies (instance roles, ~/.aws).
    aws_endpoint_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    # Where job bodies run; with workers on other machines the database and artifacts must be
    # shared (core.db.sharing refuses SQLite then).
    job_executor: Literal["local", "dask"] = "local"
    dask_scheduler_address: str | None = None
    # TLS for the scheduler connection (README "Scale out with Dask"): a scheduler beyond loopback
    # runs pickled code for any client, so a team cluster should demand certificates.
    dask_tls_ca_file: Path | None = None
    dask_tls_cert: Path | None = None
    dask_tls_key: Path | None = None
    # How long a running job may take to stop on its own after a cancel before its process is ended.
    job_cancel_grace_s: float = Field(30.0, ge=0, le=3600)

    # --- market data ----------------------------------------------------------------------
    # A name from the provider registry (core.data.providers.registry), checked where a provider
    # is built: settings stay free of the data layer, and the registry is the one list of names.
    market_data_provider: str = "offline"
    # A series fetched less than this long ago is served from the store unless bypass_cache.
    data_cache_minutes: float = Field(5.0, ge=0)
    bundled_data_dir: Path = Path(__file__).resolve().parent.parent / "data"

    # --- LLM analyst (CONTRACTS §2) -------------------------------------------------------
    # A name in core.llm_providers.LLM_PROVIDERS; each provider declares its own settings
    # (FREDDY_*, OPENAI_*) in its module, built and checked with these (`plugin`).
    llm_provider: str = "freddy"
    llm_concurrency: int = Field(8, ge=1, le=256)
    llm_max_retries: int = Field(4, ge=0, le=20)
    llm_daily_budget_usd: float = Field(5.0, ge=0)
    llm_prices: Annotated[dict[str, tuple[float, float]], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_LLM_PRICES)
    )
    # Provider-neutral: they apply to every provider and win over a provider's own name (FREDDY_TIMEOUT).
    # Unset (None) falls back to that name, then to LLM_DEFAULTS; read them through `llm_options`.
    llm_timeout: float | None = Field(None, gt=0, le=3600)
    llm_temperature: float | None = Field(None, ge=0.0, le=2.0)
    llm_cache_ttl: int | None = Field(None, ge=0)
    # The most of a reply body that is read; a longer one is rejected before it is parsed.
    llm_max_reply_bytes: int = Field(65_536, ge=1_024, le=16 * 1024 * 1024)
    # The knowledge-cutoff firewall (README "Can the analyst be believed?"): the configured
    # model's training-data cutoff, overriding the family table in core/llm_providers/prices.py.
    llm_knowledge_cutoff: date | None = None
    # Prompts without symbol, calendar dates or absolute prices: `auto` for points before the
    # model's cutoff (where it could otherwise recall what happened next), `on` always, `off` never.
    llm_anonymize: Literal["auto", "on", "off"] = "auto"
    # OpenAI-compatible servers get the label schema as `response_format` json_schema (strict);
    # false sends plain JSON mode for servers that reject it.
    llm_structured_outputs: bool = True
    # The provider's batch API (half price, replies within hours): `auto` for runs of at least
    # LLM_BATCH_MIN_POINTS points (full training, big `label` runs, nightly work), `on` for every
    # run but the chart's quick training, `off` never.
    llm_batch: Literal["auto", "on", "off"] = "auto"
    llm_batch_min_points: int = Field(200, ge=1)
    llm_batch_poll_s: float = Field(30.0, gt=0, le=3600)

    # --- bots and training ----------------------------------------------------------------
    # BUY/SELL when a bot's expected return clears this band, HOLD inside it. The original system's
    # +-0.001 applies to daily and longer bars; shorter bars scale it by sqrt(bar / trading day),
    # as typical moves do, unless SIGNAL_THRESHOLDS names a value (`5m=0.0002,1h=0.0005`).
    signal_threshold: float = Field(0.001, gt=0, lt=0.5)
    signal_thresholds: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    model_stale_hours: float = Field(4.0, gt=0)
    model_retention: int = Field(5, ge=2)
    # Threads each training task gives PyTorch (`torch.set_num_threads`) and XGBoost (`nthread`),
    # set explicitly in every job process: Dask's nanny sets OMP_NUM_THREADS=1, and one thread per
    # core is right only when one task runs per machine. TORCH_THREADS is the older name.
    training_threads: int = Field(
        2,
        ge=1,
        le=256,
        validation_alias=AliasChoices(
            "TRAINING_THREADS", "TORCH_THREADS", "training_threads", "torch_threads"
        ),
    )
    # Where the sequence bots train and predict: `auto` takes CUDA when this process sees a GPU.
    torch_device: Literal["auto", "cpu", "cuda"] = "auto"
    # --- honest numbers (core/evaluation, core/registry/gate.py) ---------------------------
    # Walk-forward: the evaluated span (after the first fold's training labels) is cut into this
    # many periods, each judged by a model trained only on labels that end before it.
    walkforward_folds: int = Field(5, ge=1, le=20)
    # The gate activates a version on its own only when it beats the naive baseline on at least
    # this many independent (one horizon apart) out-of-sample points, at this significance.
    promotion_min_effective: int = Field(30, ge=1)
    promotion_alpha: float = Field(0.05, gt=0, lt=0.5)
    # An active version whose live accuracy falls significantly below its baseline is taken out of
    # service (after at least this many non-overlapping closed trades).
    demotion_enabled: bool = True
    demotion_min_trades: int = Field(30, ge=1)
    # Per-side commission/slippage in basis points by asset class (`equity=2/2,fx=0.5/1,crypto=10/5`
    # are the defaults; entries given replace those classes), and symbols whose class the
    # spelling does not tell (`GBPUSD=fx,XAUUSD=fx`).
    trading_costs_bps: Annotated[dict[str, tuple[float, float]], NoDecode] = Field(default_factory=dict)
    asset_classes: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Background job processes at a time without a cluster (the dashboard, the scheduler).
    job_workers: int = Field(2, ge=1, le=32)
    # Scheduling niceness of every job process (0-19): training yields the cores to pages.
    job_nice: int = Field(10, ge=0, le=19)

    quick_lookback_days: int = Field(14, ge=1)
    quick_samples: int = Field(50, ge=10)
    quick_bots: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["ensemble_bot", "lstm_bot"])
    # Quick training also learns from, and is judged on, free hindsight labels across this many
    # newest stored bars (0: the labeling window alone, too little evidence for the gate).
    quick_history_bars: int = Field(20_000, ge=0)
    full_lookback_days: int = Field(30, ge=1)
    full_samples: int = Field(100, ge=10)
    full_bots: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["lstm_bot", "transformer_bot", "ensemble_bot"]
    )

    # --- continuous learning and scheduler -----------------------------------------------
    qt_ai_retraining_enabled: bool = Field(
        False, validation_alias=AliasChoices("QT_AI_RETRAINING_ENABLED", "qt_ai_retraining_enabled")
    )
    retrain_hour_utc: int = Field(3, ge=0, le=23)
    retrain_minute_utc: int = Field(0, ge=0, le=59)
    retrain_min_samples: int = Field(100, ge=1)
    paper_confidence_threshold: float = Field(0.55, ge=0, le=1)
    watchlist: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["GOOG:1d", "INFY.NS:5m", "TCS.NS:5m", "RELIANCE.NS:5m"]
    )

    # --- dashboard ------------------------------------------------------------------------
    # The dashboard process runs the scheduler beside its job runner; tests turn it off.
    dashboard_scheduler: bool = True

    # --- access (sign-in, roles) ----------------------------------------------------------
    # Signed-in users with these e-mails are admins whatever the database says (the first admins).
    admin_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The role of a signed-in user with no role row; `none` lets nobody in until an admin grants one.
    default_role: Literal["none", "viewer", "operator"] = "viewer"

    # --- logging --------------------------------------------------------------------------
    log_level: str = "INFO"

    @field_validator("quick_bots", "full_bots", "watchlist", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_emails", mode="before")
    @classmethod
    def _split_emails(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        return [str(part).strip().lower() for part in value or [] if str(part).strip()]  # type: ignore[union-attr]

    @field_validator("llm_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        """Accept `model=in/out,model2=in/out` from the environment (USD per 1M tokens)."""
        return parse_prices(value) if isinstance(value, str) else value

    @field_validator("llm_anonymize", "llm_batch", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        """true/false spellings of on/off, so LLM_ANONYMIZE=true reads as meant."""
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, str):
            lowered = value.strip().lower()
            return {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}.get(
                lowered, lowered
            )
        return value

    @field_validator("llm_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in LLM_PROVIDERS:
            raise ValueError(str(LLM_PROVIDERS.unknown(value)))
        return value

    @field_validator("signal_thresholds", mode="before")
    @classmethod
    def _parse_thresholds(cls, value: object) -> object:
        """`5m=0.0002,1h=0.0005` from the environment."""
        if not isinstance(value, str):
            return value
        out: dict[str, float] = {}
        for item in filter(None, (p.strip() for p in value.split(","))):
            try:
                tf, number = item.split("=", 1)
                out[tf.strip()] = float(number)
            except ValueError as exc:
                raise ValueError(f"SIGNAL_THRESHOLDS entry {item!r} is not 'timeframe=value'") from exc
        return out

    @field_validator("market_data_provider")
    @classmethod
    def _provider_name(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("trading_costs_bps", mode="before")
    @classmethod
    def _parse_costs(cls, value: object) -> object:
        """`equity=2/2,fx=0.5/1` from the environment: commission/slippage bps per side."""
        if not isinstance(value, str):
            return value
        out: dict[str, tuple[float, float]] = {}
        for item in filter(None, (p.strip() for p in value.split(","))):
            try:
                kind, pair = item.split("=", 1)
                commission, slippage = pair.split("/", 1)
                out[kind.strip().lower()] = (float(commission), float(slippage))
            except ValueError as exc:
                raise ValueError(
                    f"TRADING_COSTS_BPS entry {item!r} is not 'class=commission_bps/slippage_bps'"
                ) from exc
        return out

    @field_validator("trading_costs_bps")
    @classmethod
    def _check_costs(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for kind, (commission, slippage) in value.items():
            if kind not in ASSET_CLASSES:
                raise ValueError(f"TRADING_COSTS_BPS names {kind!r}; use {', '.join(ASSET_CLASSES)}")
            if not (0 <= commission < 1000 and 0 <= slippage < 1000):
                raise ValueError(f"TRADING_COSTS_BPS {kind}: costs must be 0..1000 basis points")
        return value

    @field_validator("asset_classes", mode="before")
    @classmethod
    def _parse_classes(cls, value: object) -> object:
        """`GBPUSD=fx,XAUUSD=fx` from the environment."""
        if not isinstance(value, str):
            return value
        out: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in value.split(","))):
            symbol, sep, kind = item.partition("=")
            if not sep or kind.strip().lower() not in ASSET_CLASSES:
                choices = "|".join(ASSET_CLASSES)
                raise ValueError(f"ASSET_CLASSES entry {item!r} is not 'SYMBOL={choices}'")
            out[symbol.strip().upper()] = kind.strip().lower()
        return out

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    # --- plug-ins' own settings ----------------------------------------------------------------
    # A plug-in's settings given here by their flat names (`Settings(freddy_api_key=…)`), read
    # before the environment, and each plug-in's built settings model, by class.
    _plugin_values: dict[str, Any] = PrivateAttr(default_factory=dict)
    _plugin_sources: dict[str, Any] = PrivateAttr(default_factory=dict)
    _plugins: dict[type[PluginSettings], PluginSettings] = PrivateAttr(default_factory=dict)

    def __init__(self, **values: Any) -> None:
        own = {
            k: values.pop(k) for k in list(values) if not k.startswith("_") and k.lower() not in _OWN_NAMES
        }
        super().__init__(**values)
        self._plugin_values = {key.lower(): value for key, value in own.items()}
        self._plugin_sources = {key: value for key, value in values.items() if key.startswith("_")}
        self._check_llm_providers()

    def _check_llm_providers(self) -> None:
        """Every registered LLM provider's settings are read and checked now, so a bad FREDDY_*
        value or an enabled provider missing its key stops the program at startup."""
        errors: list[InitErrorDetails] = []
        for name in LLM_PROVIDERS.names():
            provider = LLM_PROVIDERS.load(name)
            try:
                problem = provider.problem(self.plugin(provider.settings))
            except ValidationError as exc:
                errors += _flat_errors(provider.settings, exc)
                continue
            if problem:
                errors.append(_error((), problem))
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)

    def plugin(self, model: type[P]) -> P:
        """A plug-in's own settings (FREDDY_*, YFINANCE_*): the values given to these settings by
        their flat names, then the environment and `.env`. Read once; its secrets are masked from then on."""
        built = self._plugins.get(model)
        if built is None:
            prefix = model.prefix()
            given = {
                k.removeprefix(prefix): v for k, v in self._plugin_values.items() if k.startswith(prefix)
            }
            built = self._plugins[model] = model(**self._plugin_sources, **given)
            masking.register(secret_values_of(built))
        return built  # type: ignore[return-value]

    # --- derived paths and facts ------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.candlelab_home.expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'candlelab.db'}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def artifact_location(self) -> str:
        """ARTIFACT_URL, or the file:// URL of CANDLELAB_HOME/models (may hold credentials)."""
        return self.artifact_url.get_secret_value() if self.artifact_url else self.models_dir.as_uri()

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def llm_settings(self, provider: str | None = None) -> Any:
        """The settings of an LLM provider (LLM_PROVIDER's by default), as its module declares them."""
        return self.plugin(LLM_PROVIDERS.load(provider or self.llm_provider).settings)

    def _llm_configured(self, name: str) -> bool:
        return LLM_PROVIDERS.load(name).is_configured(self.llm_settings(name))

    @property
    def llm_configured(self) -> bool:
        """True when a real LLM analyst can be called; otherwise the rule-based analyst labels."""
        return self._llm_configured(self.llm_provider)

    def with_llm_provider(self, provider: str | None) -> Settings:
        """These settings with another LLM provider for one run (each provider keeps its own settings)."""
        if provider is None or provider == self.llm_provider:
            return self
        LLM_PROVIDERS.entry(provider)  # BadInput naming the registered providers
        return self.model_copy(update={"llm_provider": provider})

    @property
    def configured_llm_providers(self) -> list[str]:
        """The providers a run may choose: those whose settings are complete, in registry order."""
        return [name for name in LLM_PROVIDERS.names() if self._llm_configured(name)]

    @property
    def llm_model(self) -> str:
        return str(self.llm_settings().model)

    def _llm_knob(self, knob: str) -> float:
        """LLM_<KNOB> if set, else the provider's own older name (FREDDY_<KNOB>), else the default."""
        value = getattr(self, f"llm_{knob}")
        if value is None:
            own = knob in LLM_PROVIDERS.load(self.llm_provider).own_knobs
            value = getattr(self.llm_settings(), knob) if own else LLM_DEFAULTS[knob]
        return float(value)

    @property
    def llm_options(self) -> LLMOptions:
        """The chosen provider's request options, with the precedence of `_llm_knob`."""
        return LLMOptions(
            provider=self.llm_provider,
            model=self.llm_model,
            temperature=self._llm_knob("temperature"),
            timeout_s=self._llm_knob("timeout"),
            cache_ttl_s=int(self._llm_knob("cache_ttl")),
            max_reply_bytes=self.llm_max_reply_bytes,
            concurrency=self.llm_concurrency,
            max_retries=self.llm_max_retries,
            structured_outputs=self.llm_structured_outputs,
        )

    @property
    def knowledge_cutoff(self) -> date:
        """The configured model's training-data cutoff; an unknown one counts as today (see prices.py)."""
        known = cutoff_for(self.llm_model, self.llm_knowledge_cutoff)
        return known if known is not None else datetime.now(UTC).date()

    @property
    def knowledge_cutoff_known(self) -> bool:
        return cutoff_for(self.llm_model, self.llm_knowledge_cutoff) is not None

    def batch_price_per_million(self, model: str) -> tuple[float, float]:
        """What batch work costs per 1M tokens: the list price at the batch discount."""
        price_in, price_out = self.price_per_million(model)
        return price_in * BATCH_DISCOUNT, price_out * BATCH_DISCOUNT

    def threshold_for(self, timeframe: str) -> float:
        """The signal threshold for a timeframe: an explicit SIGNAL_THRESHOLDS entry, else scaled."""
        if timeframe in self.signal_thresholds:
            return self.signal_thresholds[timeframe]
        from core.timeframes import TIMEFRAMES

        tf = TIMEFRAMES.get(timeframe)
        if tf is None or not tf.intraday:
            return self.signal_threshold
        trading_day_minutes = 390.0  # a typical cash session (NYSE 6.5 h, NSE 6.25 h)
        scale = min(1.0, tf.nominal.total_seconds() / 60.0 / trading_day_minutes) ** 0.5
        return round(self.signal_threshold * scale, 8)

    def price_per_million(self, model: str) -> tuple[float, float]:
        """USD per 1M (input, output) tokens: LLM_PRICES over the built-in table, by family."""
        return price_for(self.llm_prices, model)

    def secret_values(self) -> list[str]:
        """Every configured secret, for core.masking to hide: the secret fields declared here and in
        every plug-in's settings read so far (all LLM providers'; a market provider's once built)."""
        values = secret_values_of(self)
        for built in self._plugins.values():
            values += secret_values_of(built)
        values += url_secrets(self.artifact_location)
        return [v for v in dict.fromkeys(values) if v]

    def public_summary(self) -> dict[str, object]:
        """What may be shown on a page: whether each provider is configured, never a key."""
        return {
            "llm_provider": self.llm_provider,
            "llm_configured": self.llm_configured,
            "llm_model": self.llm_model,
            "llm_providers_configured": self.configured_llm_providers,
            "market_data_provider": self.market_data_provider,
            "database": "sqlite" if self.db_url.startswith("sqlite") else self.db_url.split(":", 1)[0],
            "artifacts": redact_url(self.artifact_location),
            "llm_daily_budget_usd": self.llm_daily_budget_usd,
            "llm_knowledge_cutoff": self.knowledge_cutoff.isoformat(),
            "llm_batch": self.llm_batch,
        }


# The names Settings itself reads (fields and their aliases); any other keyword belongs to a plug-in.
_OWN_NAMES = {name for name in Settings.model_fields} | {
    str(choice).lower()
    for info in Settings.model_fields.values()
    if isinstance(info.validation_alias, AliasChoices)
    for choice in info.validation_alias.choices
}


def _error(loc: tuple[str, ...], message: str) -> InitErrorDetails:
    return {
        "type": PydanticCustomError("plugin_settings", "{message}", {"message": message}),
        "loc": loc,
        "input": None,
    }


def _flat_errors(model: type[PluginSettings], exc: ValidationError) -> list[InitErrorDetails]:
    """A plug-in's validation errors under their flat names (`temperature` -> FREDDY_TEMPERATURE)."""
    out = []
    for err in exc.errors():
        head, *rest = err["loc"] or ("",)
        loc = (f"{model.prefix()}{head}", *(str(p) for p in rest))
        out.append(_error(loc, err["msg"].removeprefix("Value error, ")))
    return out


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning a validation failure into `BadInput`."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]).upper()
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise BadInput("invalid settings: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings for entry points (CLI, dashboard, scheduler); tests build their own."""
    return load_settings()
