"""`python -m core label …` in-process: one JSON document with --json, exit 2 for bad input with
nothing written, exit 1 for a refused key, exit 0 with a warning on a budget stop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import Context
from core.db.models import Label, LabelSet
from tests.conftest import GOOG_CSV, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database

CONTRACT_KEYS = {
    "label_set_id",
    "labeler",
    "requested",
    "labeled",
    "rejected",
    "api_calls",
    "cache_hits",
    "cost_usd",
    "wall_s",
    "quality",
}


@pytest.fixture
def goog_cli(cli: Callable[..., Any]) -> Callable[..., Any]:
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d", "--json").code == 0
    return cli


def _stored(home: Path) -> tuple[int, int]:
    ctx = Context(make_settings(home))
    with ctx.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(LabelSet)),
            session.scalar(select(func.count()).select_from(Label)),
        )


@pytest.mark.parametrize("labeler", ["rules", "hindsight"])
def test_label_json_prints_one_document_with_quality(goog_cli, home: Path, labeler: str) -> None:
    run = goog_cli(
        "label", "--symbol", "GOOG", "--timeframe", "1d", "--samples", "50", "--labeler", labeler, "--json"
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert set(doc) >= CONTRACT_KEYS and doc["labeler"] == labeler and doc["status"] == "succeeded"
    assert doc["labeled"] + doc["rejected"] == doc["requested"] == 50
    assert doc["quality"]["scored"] == doc["labeled"] and "calibration" in doc["quality"]
    assert _stored(home) == (1, 50)

    text = goog_cli("label", "--symbol", "goog", "--timeframe", "1d", "--samples", "20", "--labeler", labeler)
    assert text.code == 0 and f"({labeler}) GOOG 1d: " in text.out and "quality:" in text.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", "0"], "--samples"),
        (["--samples", "many"], "invalid int"),
        (["--labeler", "oracle"], "invalid choice"),
        (["--sampling", "random"], "invalid choice"),
        (["--timeframe", "9m"], "unknown timeframe"),
        (["--symbol", "NOPE"], "no stored bars"),
        (["--symbol", "BAD SYMBOL"], "invalid symbol"),
        (["--lookback-days", "-3"], "--lookback-days"),
        (["--labeler", "llm"], "not configured"),
        (["--lookback-days", "0.5"], "not enough bars"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(goog_cli, home: Path, args: list[str], message: str) -> None:
    before = _stored(home)
    base = {"--symbol": "GOOG", "--timeframe": "1d", "--labeler": "rules"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    run = goog_cli("label", *[x for kv in base.items() for x in kv], "--json")
    assert run.code == 2, run.out
    assert message in run.json()["error"]["message"]
    assert _stored(home) == before


def test_operator_views(goog_cli, home: Path) -> None:
    first = goog_cli(
        "label", "--symbol", "GOOG", "--timeframe", "1d", "--samples", "12", "--labeler", "rules", "--json"
    )
    set_id = first.json()["label_set_id"]
    listed = goog_cli("label", "list", "--json").json()["label_sets"]
    assert [s["label_set_id"] for s in listed] == [set_id]
    shown = goog_cli("label", "show", str(set_id), "--limit", "5", "--json").json()
    assert shown["label_set_id"] == set_id and len(shown["labels"]) == 5 and shown["quality"]["labels"] == 12
    rescored = goog_cli("label", "rescore", str(set_id), "--json").json()["rescored"]
    assert rescored[0]["quality"]["scored"] == 12
    compared = goog_cli("label", "compare", str(set_id), "--json").json()
    assert compared["against"]["hindsight"]["shared"] > 0
    missing = goog_cli("label", "show", "999", "--json")
    assert missing.code == 2 and "does not exist" in missing.json()["error"]["message"]


@pytest.fixture
def llm_cli(goog_cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Callable[..., Any], FakeLLMServer]]:
    with FakeLLMServer(api_key=API_KEY) as server:
        for name, value in {
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": server.openai_url,
            "LLM_TIMEOUT": "1",
            "LLM_MAX_RETRIES": "1",
        }.items():
            monkeypatch.setenv(name, value)
        yield goog_cli, server


def test_llm_label_via_cli_with_estimate_budget_and_refused_key(llm_cli, home: Path, monkeypatch) -> None:
    cli, server = llm_cli
    run = cli("label", "--symbol", "GOOG", "--timeframe", "1d", "--samples", "6")
    assert (
        run.code == 0
        and "estimate: up to 6 openai calls" in run.err
        and "(llm) GOOG 1d: 6 labeled" in run.out
    )
    again = cli("label", "--symbol", "GOOG", "--timeframe", "1d", "--samples", "6", "--json").json()
    assert (again["labeler"], again["api_calls"], again["cache_hits"]) == ("llm", 0, 6)
    assert server.requests == 6

    # An estimate beyond today's budget is refused up front ... unless forced, then it stops cleanly.
    monkeypatch.setenv("LLM_PRICES", "gpt-4o=1000/1000")
    monkeypatch.setenv("LLM_DAILY_BUDGET_USD", "4")
    before = _stored(home)
    refused = cli(
        "label", "--symbol", "GOOG", "--timeframe", "1d", "--samples", "10", "--seed", "2", "--json"
    )
    assert refused.code == 2 and "--force" in refused.json()["error"]["message"]
    assert _stored(home) == before and server.requests == 6
    forced = cli(
        "label",
        "--symbol",
        "GOOG",
        "--timeframe",
        "1d",
        "--samples",
        "10",
        "--seed",
        "2",
        "--force",
        "--json",
    )
    doc = forced.json()
    assert forced.code == 0 and doc["status"] == "budget_exhausted"
    assert doc["labeled"] + doc["rejected"] + doc["not_attempted"] == 10 and doc["not_attempted"] > 0
    assert "warning: stopped on the daily LLM budget" in forced.err

    monkeypatch.setenv("LLM_DAILY_BUDGET_USD", "1000")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-revoked-key-0000000")
    denied = cli("label", "--symbol", "GOOG", "--timeframe", "1d", "--samples", "5", "--seed", "3", "--json")
    assert denied.code == 1
    message = denied.json()["error"]["message"]
    assert "HTTP 401" in message and "sk-revoked-key-0000000" not in message + denied.err


def test_a_run_can_pick_its_llm_provider(llm_cli, monkeypatch) -> None:
    """Both analysts configured, Freddy the default: `--llm-provider openai` speaks the OpenAI format."""
    cli, server = llm_cli
    for name, value in {
        "LLM_PROVIDER": "freddy",
        "FREDDY_ENABLED": "true",
        "FREDDY_API_KEY": API_KEY,
        "FREDDY_ORGANIZATION_ID": "org-test",
        "FREDDY_ASSISTANT_ID": "asst-test",
        "FREDDY_BASE_URL": server.url,
    }.items():
        monkeypatch.setenv(name, value)
    pair = ("--symbol", "GOOG", "--timeframe", "1d", "--samples", "4", "--labeler", "llm")
    openai = cli("label", *pair, "--llm-provider", "openai", "--json").json()
    assert openai["provider"] == "openai" and openai["labeled"] == 4
    assert dict(server.by_path) == {"openai": 4}  # the wire format each request arrived in
    freddy = cli("label", *pair, "--seed", "1", "--json").json()
    assert freddy["provider"] == "freddy" and freddy["labeled"] == 4
    assert dict(server.by_path) == {"openai": 4, "freddy": 4}
