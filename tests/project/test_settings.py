from __future__ import annotations

from pathlib import Path

import pytest

from core import masking
from core.data.providers.yahoo import YahooSettings
from core.errors import BadInput
from core.llm_providers.openai_compat import OpenAISettings
from core.settings import Settings, load_settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    s = load_settings()
    assert s.llm_provider == "freddy"
    freddy, openai = s.llm_settings("freddy"), s.llm_settings("openai")
    assert freddy.enabled is False
    assert (freddy.model, freddy.temperature, freddy.timeout, freddy.cache_ttl) == ("gpt-4o", 0.7, 30, 300)
    assert freddy.base_url == "https://freddy-api.aitronos.com"
    assert (openai.base_url, openai.model) == ("https://api.openai.com/v1", "gpt-4o")
    assert (s.llm_concurrency, s.llm_max_retries, s.llm_daily_budget_usd) == (8, 4, 5.0)
    assert s.model_stale_hours == 4
    assert s.db_url.endswith("data/runtime/candlelab.db")
    assert s.llm_configured is False


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LLM_CONCURRENCY=3\nQT_AI_RETRAINING_ENABLED=1\n")
    monkeypatch.setenv("CANDLELAB_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("FREDDY_TIMEOUT", "12.5")
    monkeypatch.setenv("LLM_PRICES", "my-model=1.5/6")
    s = load_settings()
    assert s.llm_concurrency == 3
    assert s.qt_ai_retraining_enabled is True
    assert s.llm_settings("freddy").timeout == 12.5
    assert s.home == (tmp_path / "h").resolve()
    assert s.price_per_million("my-model") == (1.5, 6.0)
    assert s.price_per_million("unknown-model") == s.llm_prices["default"]


def test_freddy_enabled_without_key_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FREDDY_ENABLED", "true")
    with pytest.raises(BadInput) as err:
        load_settings()
    message = str(err.value)
    assert "FREDDY_API_KEY" in message and "FREDDY_ORGANIZATION_ID" in message


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("LLM_CONCURRENCY", "0", "LLM_CONCURRENCY"),
        ("LLM_PROVIDER", "claude", "LLM_PROVIDER"),
        ("LLM_PRICES", "gpt-4o=cheap", "model=input_usd/output_usd"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("OPENAI_BASE_URL", "localhost:8000", "OPENAI_BASE_URL"),
        ("FREDDY_TEMPERATURE", "5", "FREDDY_TEMPERATURE: Input should be less than or equal to 2"),
    ],
)
def test_invalid_values_are_bad_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    if name == "OPENAI_BASE_URL":
        monkeypatch.setenv("LLM_PROVIDER", "openai")
    with pytest.raises(BadInput, match=fragment):
        load_settings()


def test_secrets_stay_out_of_repr_and_public_summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    key = "sk-very-secret-key-123456"
    monkeypatch.setenv("FREDDY_ENABLED", "true")
    monkeypatch.setenv("FREDDY_API_KEY", key)
    monkeypatch.setenv("FREDDY_ORGANIZATION_ID", "org")
    monkeypatch.setenv("FREDDY_ASSISTANT_ID", "asst")
    s = load_settings()
    assert s.llm_configured
    assert key not in repr(s) and key not in str(s.model_dump())
    assert key not in str(s.public_summary())
    assert s.secret_values() == [key, "org"]  # the organisation id is declared secret too


def test_openai_compatible_local_server_counts_as_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLM_PROVIDER", "openai")
    assert load_settings().llm_configured is False
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    assert load_settings().llm_configured is True


def test_signal_threshold_scales_to_the_bar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.threshold_for("1d") == s.threshold_for("1wk") == 0.001  # the original system's band
    assert s.threshold_for("5m") == pytest.approx(0.001 * (5 / 390) ** 0.5, rel=1e-4)
    assert s.threshold_for("1m") < s.threshold_for("5m") < s.threshold_for("1h") < s.threshold_for("1d")
    monkeypatch.setenv("SIGNAL_THRESHOLDS", "5m=0.0003")
    monkeypatch.setenv("SIGNAL_THRESHOLD", "0.002")
    s = load_settings()
    assert s.threshold_for("5m") == 0.0003 and s.threshold_for("1d") == 0.002
    monkeypatch.setenv("SIGNAL_THRESHOLDS", "5m:0.1")
    with pytest.raises(BadInput, match="timeframe=value"):
        load_settings()


def test_a_plugins_settings_live_in_its_module_under_the_flat_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OPENAI_MODEL=from-dotenv\n")
    monkeypatch.setenv("YFINANCE_PROXY", "http://desk:proxy-pass-771@proxy:3128")
    s = load_settings()
    assert s.plugin(OpenAISettings).model == "from-dotenv" == s.llm_settings("openai").model
    assert "proxy-pass-771" not in s.secret_values()  # a market provider's settings: read when it is built
    proxy = s.plugin(YahooSettings).proxy
    assert proxy is not None and "proxy-pass-771" in proxy.get_secret_value()
    assert "http://desk:proxy-pass-771@proxy:3128" in s.secret_values()
    assert "proxy-pass-771" not in masking.mask("via http://desk:proxy-pass-771@proxy:3128")
    # Given by their flat names, a plug-in's settings win over the environment, as Settings' own do.
    given = Settings(_env_file=None, openai_model="given", yfinance_proxy=None, torch_threads=3)  # type: ignore[call-arg]
    assert (given.llm_model, given.with_llm_provider("openai").llm_model) == ("gpt-4o", "given")
    assert given.plugin(YahooSettings).proxy is None and given.training_threads == 3
