"""The one typed settings object: every knob CandleLab reads from the environment or `.env`.

Nothing else in the code base calls `os.getenv`; modules receive a `Settings` instance (usually
through `core.context.Context`) so tests can build one with a temporary home and no globals.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import BadInput

LLMProvider = Literal["freddy", "openai"]
MarketProvider = Literal["offline", "yfinance"]

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"

# USD per one million tokens (input, output). Used for the cost estimate and the ledger; a model
# missing here is priced with the `default` row so that spend is never silently counted as zero.
DEFAULT_LLM_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "default": (2.50, 10.00),
}


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
    database_url: str | None = None

    # --- market data ----------------------------------------------------------------------
    market_data_provider: MarketProvider = "offline"
    yfinance_proxy: SecretStr | None = None  # may carry credentials, so it is treated as a secret
    # A series fetched less than this long ago is served from the store unless bypass_cache.
    data_cache_minutes: float = Field(5.0, ge=0)
    bundled_data_dir: Path = Path(__file__).resolve().parent.parent / "data"

    # --- LLM analyst (CONTRACTS §2) -------------------------------------------------------
    llm_provider: LLMProvider = "freddy"
    freddy_api_key: SecretStr | None = None
    freddy_organization_id: str | None = None
    freddy_assistant_id: str | None = None
    freddy_enabled: bool = False
    freddy_model: str = "gpt-4o"
    freddy_temperature: float = Field(0.7, ge=0.0, le=2.0)
    freddy_timeout: float = Field(30.0, gt=0)
    freddy_cache_ttl: int = Field(300, ge=0)
    freddy_base_url: str = "https://freddy-api.aitronos.com"

    openai_api_key: SecretStr | None = None
    openai_base_url: str = OPENAI_DEFAULT_BASE_URL
    openai_model: str = "gpt-4o"

    llm_concurrency: int = Field(8, ge=1, le=256)
    llm_max_retries: int = Field(4, ge=0, le=20)
    llm_daily_budget_usd: float = Field(5.0, ge=0)
    llm_prices: Annotated[dict[str, tuple[float, float]], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_LLM_PRICES)
    )

    # --- bots and training ----------------------------------------------------------------
    # BUY/SELL when a bot's expected return clears this band, HOLD inside it. The original system's
    # +-0.001 applies to daily and longer bars; shorter bars scale it by sqrt(bar / trading day),
    # as typical moves do, unless SIGNAL_THRESHOLDS names a value (`5m=0.0002,1h=0.0005`).
    signal_threshold: float = Field(0.001, gt=0, lt=0.5)
    signal_thresholds: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)
    model_stale_hours: float = Field(4.0, gt=0)
    model_retention: int = Field(5, ge=2)
    torch_threads: int = Field(2, ge=1)
    # The walk-forward held-out period: the newest share of labeled points, never trained on.
    heldout_fraction: float = Field(0.2, ge=0.05, le=0.5)
    # The promotion gate replaces an active version only on at least this many held-out points.
    promotion_min_heldout: int = Field(30, ge=1)
    job_workers: int = Field(2, ge=1, le=32)
    # Scheduling niceness of in-process job threads (0-19): training yields the cores to pages.
    job_nice: int = Field(10, ge=0, le=19)

    quick_lookback_days: int = Field(14, ge=1)
    quick_samples: int = Field(50, ge=10)
    quick_bots: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["ensemble_bot", "lstm_bot"])
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
        if not isinstance(value, str):
            return value
        prices = dict(DEFAULT_LLM_PRICES)
        for item in filter(None, (p.strip() for p in value.split(","))):
            try:
                model, pair = item.split("=", 1)
                inp, out = pair.split("/", 1)
                prices[model.strip()] = (float(inp), float(out))
            except ValueError as exc:
                raise ValueError(
                    f"LLM_PRICES entry {item!r} is not 'model=input_usd/output_usd' (per 1M tokens)"
                ) from exc
        return prices

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

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @model_validator(mode="after")
    def _check_llm(self) -> Settings:
        if self.freddy_enabled:
            missing = [
                name
                for name, val in (
                    ("FREDDY_API_KEY", self.freddy_api_key and self.freddy_api_key.get_secret_value()),
                    ("FREDDY_ORGANIZATION_ID", self.freddy_organization_id),
                    ("FREDDY_ASSISTANT_ID", self.freddy_assistant_id),
                )
                if not val
            ]
            if missing:
                raise ValueError(
                    "FREDDY_ENABLED=true needs " + ", ".join(missing) + "; set them or FREDDY_ENABLED=false"
                )
        if self.llm_provider == "openai" and not self.openai_base_url.startswith(("http://", "https://")):
            raise ValueError("OPENAI_BASE_URL must start with http:// or https://")
        return self

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
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def llm_configured(self) -> bool:
        """True when a real LLM analyst can be called; otherwise the rule-based analyst labels."""
        if self.llm_provider == "freddy":
            return self.freddy_enabled
        has_key = bool(self.openai_api_key and self.openai_api_key.get_secret_value())
        # Local OpenAI-compatible servers (vLLM, Ollama) need no key, only a non-default URL.
        return has_key or self.openai_base_url.rstrip("/") != OPENAI_DEFAULT_BASE_URL

    def with_llm_provider(self, provider: str | None) -> Settings:
        """These settings with another LLM provider for one run (each provider keeps its own settings)."""
        if provider is None or provider == self.llm_provider:
            return self
        if provider not in ("freddy", "openai"):
            raise BadInput(f"unknown LLM provider {provider!r}; use freddy or openai")
        return self.model_copy(update={"llm_provider": provider})

    @property
    def configured_llm_providers(self) -> list[str]:
        """The providers a run may choose: those whose settings are complete."""
        return [p for p in ("freddy", "openai") if self.with_llm_provider(p).llm_configured]

    @property
    def llm_model(self) -> str:
        return self.freddy_model if self.llm_provider == "freddy" else self.openai_model

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
        return self.llm_prices.get(model) or self.llm_prices.get("default") or DEFAULT_LLM_PRICES["default"]

    def secret_values(self) -> list[str]:
        """Every configured secret, so log filters and error paths can redact them."""
        secrets = [self.freddy_api_key, self.openai_api_key, self.yfinance_proxy]
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]

    def public_summary(self) -> dict[str, object]:
        """What may be shown on a page: whether each provider is configured, never a key."""
        return {
            "llm_provider": self.llm_provider,
            "llm_configured": self.llm_configured,
            "llm_model": self.llm_model,
            "freddy_key_configured": self.freddy_api_key is not None,
            "openai_key_configured": self.openai_api_key is not None,
            "market_data_provider": self.market_data_provider,
            "database": "sqlite" if self.db_url.startswith("sqlite") else self.db_url.split(":", 1)[0],
            "llm_daily_budget_usd": self.llm_daily_budget_usd,
        }


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning a validation failure into `BadInput`."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc != "SETTINGS" else msg)
        raise BadInput("invalid settings: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings for entry points (CLI, dashboard, scheduler); tests build their own."""
    return load_settings()
