"""LLM settings: one provider registry behind every name list, provider-neutral knobs with the
FREDDY_* names still honoured, and one price table for the estimate, the budget and the ledger."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.errors import BadInput
from core.labeling.cost import Window, estimate_cost, typical_prompt_tokens
from core.labeling.service import run_labeling
from core.llm_providers import LLM_PROVIDERS, not_configured, provider_choice
from core.llm_providers.prices import DEFAULT_LLM_PRICES, price_for
from core.settings import load_settings
from tests.conftest import GOOG_CSV, REPO, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY, llm_overrides

FREDDY_ON = {
    "FREDDY_ENABLED": "true",
    "FREDDY_API_KEY": "sk-freddy-key-000000",
    "FREDDY_ORGANIZATION_ID": "org",
    "FREDDY_ASSISTANT_ID": "asst",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no .env
    return monkeypatch


def test_every_provider_name_list_reads_the_registry(env: pytest.MonkeyPatch, cli) -> None:
    assert LLM_PROVIDERS.names() == ("freddy", "openai")
    for command in ("label", "train"):
        refused = cli(command, "--symbol", "GOOG", "--timeframe", "1d", "--llm-provider", "claude", "--json")
        assert refused.code == 2 and "'freddy', 'openai'" in refused.json()["error"]["message"]
    env.setenv("LLM_PROVIDER", "claude")
    with pytest.raises(
        BadInput, match="LLM_PROVIDER: unknown LLM provider 'claude'; use one of freddy, openai"
    ):
        load_settings()
    env.delenv("LLM_PROVIDER")
    settings = load_settings()
    with pytest.raises(BadInput, match="use one of freddy, openai"):
        settings.with_llm_provider("claude")
    assert all(entry.help in not_configured() for entry in LLM_PROVIDERS.entries())


def test_configured_providers_and_the_pages_choice(env: pytest.MonkeyPatch) -> None:
    assert load_settings().configured_llm_providers == []
    assert provider_choice(load_settings()).names == []
    env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")  # a local server needs no key
    choice = provider_choice(load_settings())
    assert (choice.names, choice.default, choice.default_index) == (["openai"], "openai", 0)
    for name, value in FREDDY_ON.items():
        env.setenv(name, value)
    settings = load_settings()
    assert settings.configured_llm_providers == ["freddy", "openai"]
    choice = provider_choice(settings.with_llm_provider("openai"))
    assert choice.default == "openai" and choice.titles == {"freddy": "Freddy", "openai": "OpenAI-compatible"}
    # The organisation id is a secret too (masked wherever it could land); the assistant id is not.
    assert sorted(settings.secret_values()) == ["org", "sk-freddy-key-000000"]


@pytest.mark.parametrize(
    ("knob", "freddy_name", "freddy_value", "neutral_value", "default"),
    [
        ("timeout_s", "FREDDY_TIMEOUT", "12.5", "3", 30.0),
        ("temperature", "FREDDY_TEMPERATURE", "0.1", "0.4", 0.7),
        ("cache_ttl_s", "FREDDY_CACHE_TTL", "60", "900", 300),
    ],
)
def test_neutral_knobs_win_and_freddy_names_govern_only_freddy(
    env: pytest.MonkeyPatch,
    knob: str,
    freddy_name: str,
    freddy_value: str,
    neutral_value: str,
    default: float,
) -> None:
    env.setenv("OPENAI_API_KEY", "sk-openai-key-000000")
    env.setenv(freddy_name, freddy_value)  # an existing .env keeps working for Freddy ...
    settings = load_settings()
    assert getattr(settings.llm_options, knob) == float(freddy_value)
    # ... but no longer governs the OpenAI-compatible path.
    assert getattr(settings.with_llm_provider("openai").llm_options, knob) == default
    env.setenv(freddy_name.replace("FREDDY_", "LLM_"), neutral_value)  # both set: LLM_* wins
    settings = load_settings()
    for provider in LLM_PROVIDERS.names():
        assert getattr(settings.with_llm_provider(provider).llm_options, knob) == float(neutral_value)


def test_reply_cap_setting(env: pytest.MonkeyPatch) -> None:
    assert load_settings().llm_options.max_reply_bytes == 65_536
    env.setenv("LLM_MAX_REPLY_BYTES", "10")
    with pytest.raises(BadInput, match="LLM_MAX_REPLY_BYTES"):
        load_settings()


def test_price_table_matches_model_families_and_is_overridable(env: pytest.MonkeyPatch) -> None:
    table = DEFAULT_LLM_PRICES
    assert price_for(table, "gpt-4o") == (2.50, 10.00)
    assert price_for(table, "gpt-4o-2024-08-06") == price_for(table, "gpt-4o")  # dated snapshot
    assert price_for(table, "gpt-4o-mini-2024-07-18") == (0.15, 0.60)  # the longest family wins
    assert price_for(table, "gpt-4.1-nano") == (0.10, 0.40) and price_for(table, "o4-mini") == (1.10, 4.40)
    for local in ("llama3.1:8b", "meta-llama/Llama-3.1-8B-Instruct", "qwen2.5:7b-instruct", "gpt-oss-20b"):
        assert price_for(table, local) == (0.0, 0.0), local  # self-hosted open weights
    assert price_for(table, "some-new-model") == table["default"] != (0.0, 0.0)  # never silently free
    env.setenv("LLM_PRICES", "llama-3.1-70b=0.88/0.88,gpt-4o=3/12")
    settings = load_settings()
    assert settings.price_per_million("meta-llama/llama-3.1-70b-instruct") == (0.88, 0.88)
    assert settings.price_per_million("llama3.2:3b") == (0.0, 0.0)
    assert settings.price_per_million("gpt-4o-2024-11-20") == (3.0, 12.0)
    env.setenv("LLM_PRICES", "gpt-4o=-1/2")
    with pytest.raises(BadInput, match="not negative"):
        load_settings()


def test_settings_import_no_heavy_module() -> None:
    code = (
        "import sys, core.settings; "
        "print(sorted(m for m in ('httpx', 'sqlalchemy', 'pandas', 'numpy', 'core.db') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_estimate_builds_the_real_prompt_of_the_window(tmp_path: Path) -> None:
    with FakeLLMServer(api_key=API_KEY) as server:
        settings = make_settings(tmp_path, **llm_overrides("openai", server))
        ctx = Context.create(settings, logs=False)
        supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
        est = estimate_cost(ctx, 8, "llm", Window("GOOG", "1d"))
        run = run_labeling(ctx, "GOOG", "1d", samples=8, labeler="llm", seed=31)
    assert est["prompt_basis"] == "window" and est["tokens_in"] == 8 * est["prompt_tokens_per_call"]
    # The server counts the prompt it received: the estimate is that prompt, within a few digits.
    sent_per_call = run.tokens_in / run.api_calls
    assert abs(est["prompt_tokens_per_call"] - sent_per_call) / sent_per_call < 0.05
    assert est["prompt_tokens_per_call"] != typical_prompt_tokens(settings)
    with pytest.raises(BadInput, match="no stored bars"):
        estimate_cost(ctx, 8, "llm", Window("MSFT", "1d"))
    forget_database(settings.db_url)
