"""Yahoo Finance through yfinance: the real, live provider (switched on by configuration)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from core.data.frames import validate_ohlcv
from core.data.providers.base import FetchedBars, FetchRequest, Headline
from core.errors import BadInput, ProviderUnavailable
from core.plugin_settings import PluginSettings
from core.settings import Settings

log = logging.getLogger(__name__)

YAHOO_PROBE_URL = "https://query2.finance.yahoo.com/"


def _is_network_error(exc: BaseException) -> bool:
    """yfinance surfaces transport failures as curl_cffi, requests or OS errors."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    modules = {cls.__module__.split(".")[0] for cls in type(exc).__mro__}
    return bool(
        {"ConnectionError", "Timeout", "TimeoutError", "RequestException", "RequestsError", "CurlError"}
        & names
        or {"curl_cffi", "requests", "urllib3"} & modules
        or isinstance(exc, OSError)
    )


class YahooProvider:
    # The same facts as its line in the registry, which lists them without importing this module
    # (a plug-in never imports the registry that names it).
    name = "yfinance"
    live = True
    sources = frozenset({"yfinance", "yahoo"})

    def __init__(self, cache_dir: Path, proxy: str | None = None, timeout: float = 20.0) -> None:
        import yfinance as yf

        cache_dir.mkdir(parents=True, exist_ok=True)
        # Keep yfinance's time-zone cache under CANDLELAB_HOME instead of the user's home.
        yf.set_tz_cache_location(str(cache_dir))
        if proxy:
            network = getattr(getattr(yf, "config", None), "network", None)
            if network is not None:
                network.proxy = proxy
            else:  # yfinance before the config object
                yf.set_config(proxy=proxy)
        # Failures must raise (CandleLab classifies them) rather than come back as an empty frame.
        debug = getattr(getattr(yf, "config", None), "debug", None)
        if debug is not None:
            debug.hide_exceptions = False
            self._raise: dict[str, bool] = {}
        else:  # yfinance before the config object
            self._raise = {"raise_errors": True}
        self._yf = yf
        self.proxy = proxy
        self.timeout = timeout

    def symbols(self) -> dict[str, list[str]]:
        return {}

    def _reachable(self) -> bool:
        """Whether Yahoo answers at all. yfinance reports some failed connections (a time-zone or
        price lookup that never got through) as "missing" data, which would otherwise read as an
        unknown symbol; any HTTP answer here means the data really is missing."""
        try:
            with httpx.Client(proxy=self.proxy, timeout=self.timeout) as client:
                client.head(YAHOO_PROBE_URL)
        except httpx.HTTPError:
            return False
        return True

    def _check_window(self, request: FetchRequest) -> datetime:
        tf = request.timeframe
        now = datetime.now(UTC)
        start = request.start or (now - timedelta(days=tf.yahoo_max_days or 365 * 30))
        if tf.yahoo_max_days is not None:
            oldest = now - timedelta(days=tf.yahoo_max_days)
            if start < oldest - timedelta(minutes=1):
                raise BadInput(
                    f"Yahoo serves {tf.code} bars only for the last {tf.yahoo_max_days} days; "
                    f"asked from {start.date().isoformat()}. Use a shorter --lookback-days "
                    f"(at most {tf.yahoo_max_days}) or a coarser timeframe"
                )
        return start

    def fetch(self, request: FetchRequest) -> FetchedBars:
        start = self._check_window(request)
        try:
            raw = self._yf.Ticker(request.symbol).history(
                interval=request.timeframe.code,
                start=start,
                end=request.end,
                auto_adjust=False,
                actions=False,
                **self._raise,
                timeout=self.timeout,
            )
        except BadInput:
            raise
        except Exception as exc:  # yfinance raises many unrelated types; classify, never leak
            if _is_network_error(exc):
                raise ProviderUnavailable(
                    f"Yahoo Finance could not be reached ({type(exc).__name__}); check the network "
                    "or YFINANCE_PROXY"
                ) from None
            kind = type(exc).__name__
            if kind in {"YFTickerMissingError", "YFTzMissingError", "YFPricesMissingError"}:
                if not self._reachable():
                    raise ProviderUnavailable(
                        "Yahoo Finance could not be reached; check the network or YFINANCE_PROXY"
                    ) from None
                raise BadInput(
                    f"Yahoo Finance has no {request.timeframe.code} bars for {request.symbol!r} "
                    f"in that window; check the symbol (e.g. INFY.NS for NSE listings)"
                ) from None
            if kind == "YFRateLimitError":
                raise ProviderUnavailable("Yahoo Finance rate-limited the request; try again later") from None
            raise ProviderUnavailable(f"Yahoo Finance request failed: {kind}: {exc}") from None
        if raw is None or raw.empty:
            raise BadInput(
                f"Yahoo Finance returned no bars for {request.symbol!r} on {request.timeframe.code}"
            )
        frame = raw.rename(columns=str.lower)
        index = pd.DatetimeIndex(frame.index)
        if not request.timeframe.intraday:
            # Daily and coarser bars are stamped at the exchange's local midnight; keep the date.
            index = index.tz_localize(None).normalize().tz_localize("UTC")
        frame.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        frame = frame[~frame.index.duplicated(keep="last")]
        return FetchedBars(validate_ohlcv(frame, what=f"Yahoo bars for {request.symbol}"), source="yfinance")

    def news(self, symbol: str, limit: int = 10) -> list[Headline]:
        """Headlines for the prompt; failures mean no news, never a failed labeling run."""
        try:
            items = self._yf.Ticker(symbol).news or []
        except Exception as exc:
            log.warning("news for %s unavailable: %s", symbol, type(exc).__name__)
            return []
        headlines = []
        for item in items[:limit]:
            content = item.get("content", item) if isinstance(item, dict) else {}
            title = content.get("title") if isinstance(content, dict) else None
            if isinstance(title, str) and title.strip():
                headlines.append(Headline(title.strip()[:300], _published(item, content)))
        return headlines


def _published(item: dict[str, object], content: dict[str, object]) -> datetime | None:
    """The publication time: `content.pubDate` (ISO) in newer replies, `providerPublishTime` (epoch)."""
    stamp = content.get("pubDate") or content.get("displayTime")
    if isinstance(stamp, str):
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    epoch = item.get("providerPublishTime")
    if isinstance(epoch, int | float) and not isinstance(epoch, bool):
        return datetime.fromtimestamp(epoch, UTC)
    return None


class YahooSettings(PluginSettings):
    """YFINANCE_*: the proxy may carry credentials, so it is a secret."""

    model_config = SettingsConfigDict(env_prefix="YFINANCE_")

    proxy: SecretStr | None = None


def build(settings: Settings) -> YahooProvider:
    """The registry's factory."""
    own = settings.plugin(YahooSettings)
    proxy = own.proxy.get_secret_value() if own.proxy else None
    return YahooProvider(cache_dir=settings.home / "yfinance-cache", proxy=proxy)
