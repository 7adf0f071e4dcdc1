"""The knowledge-cutoff firewall, anonymized prompts, point-in-time news and structured replies.

GOOG 1d (2004-2013) labeled by the fake LLM set up as gpt-4o, whose training data ends 2023-10-01:
every point lies before the cutoff, so the headline figures have n = 0 and everything is
"possibly remembered"; the experiment refuses to rank the LLM there without --force.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.context import Context
from core.data.providers.base import Headline
from core.db.models import Experiment, Label, LabelSet
from core.labeling.llm_labeler import headlines_for
from core.labeling.service import run_labeling
from core.llm_providers.prices import cutoff_for
from tests.conftest import GOOG_CSV, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY, LLMEnv

GPT4O_CUTOFF = date(2023, 10, 1)
# Any year of the GOOG file standing on its own (an ISO date, a bare year), not digits inside a price.
DATE_IN_HISTORY = re.compile(r"(?<![\d.])20(0[4-9]|1[0-3])(?!\d)")


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def llm_cli(
    cli: Callable[..., Any], server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """The CLI against the fake server as gpt-4o (OpenAI-compatible), GOOG 1d imported."""
    for name, value in {
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": server.openai_url,
        "OPENAI_MODEL": "gpt-4o",
        "LLM_TIMEOUT": "5",
        "LLM_ANONYMIZE": "on",
    }.items():
        monkeypatch.setenv(name, value)
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d", "--json").code == 0
    return cli


def test_cutoffs_match_by_family_and_the_setting_overrides() -> None:
    assert cutoff_for("gpt-4o") == GPT4O_CUTOFF
    assert cutoff_for("gpt-4o-2024-08-06") == GPT4O_CUTOFF  # a dated snapshot finds its family
    assert cutoff_for("gpt-4.1-mini") == date(2024, 6, 1)  # the longest family wins
    assert cutoff_for("meta-llama/Llama-3.1-8B-Instruct") == date(2023, 12, 1)
    assert cutoff_for("my-own-model") is None
    assert cutoff_for("gpt-4o", date(2025, 1, 31)) == date(2025, 1, 31)
    home = Path("/nonexistent")
    assert make_settings(home, openai_model="gpt-4o", llm_provider="openai").knowledge_cutoff == GPT4O_CUTOFF
    unknown = make_settings(home, openai_model="my-own-model", llm_provider="openai")
    assert unknown.knowledge_cutoff == datetime.now(UTC).date() and not unknown.knowledge_cutoff_known
    override = make_settings(home, llm_knowledge_cutoff="2012-06-30")
    assert override.knowledge_cutoff == date(2012, 6, 30)
    with pytest.raises(ValueError, match=r"llm_knowledge_cutoff"):
        make_settings(home, llm_knowledge_cutoff="last spring")


def test_label_json_counts_only_post_cutoff_points_in_the_headline(
    llm_cli: Callable[..., Any], server: FakeLLMServer, home: Path
) -> None:
    run = llm_cli(
        "label", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "llm", "--samples", "24", "--json"
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["labeled"] == 24 and doc["knowledge_cutoff"] == "2023-10-01"
    quality = doc["quality"]
    assert quality["firewall"] == {"knowledge_cutoff": "2023-10-01", "post_cutoff_n": 0, "pre_cutoff_n": 24}
    # The headline: nothing after the cutoff, so no rate at all, not a remembered one.
    assert quality["labels"] == 0 and quality["target_first_rate"] is None
    assert quality["directional_hit_rate"] is None
    remembered = quality["possibly_remembered"]
    assert remembered["labels"] == 24 and remembered["scored"] > 0
    assert remembered["directional_hit_rate"] is not None
    with Context(make_settings(home)).db.read() as session:
        flags = session.execute(
            select(Label.pre_cutoff, Label.knowledge_cutoff).where(Label.label_set_id == doc["label_set_id"])
        ).all()
    assert flags and all(pre is True and cutoff == GPT4O_CUTOFF for pre, cutoff in flags)
    text = llm_cli("label", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "llm", "--samples", "24")
    assert "the quality below counts the 0 labels after it" in text.out
    assert "possibly remembered (before the cutoff): n = 24" in text.out


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def test_anonymized_contexts_hold_no_symbol_date_or_price_of_the_series(
    llm_cli: Callable[..., Any], server: FakeLLMServer, home: Path
) -> None:
    run = llm_cli(
        "label", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "llm", "--samples", "60", "--json"
    )
    assert run.code == 0, run.err
    bars = pd.read_csv(GOOG_CSV, index_col=0, parse_dates=True)
    closes = bars["Close"].round(6)
    with Context(make_settings(home)).db.read() as session:
        rows = session.execute(
            select(Label.ts, Label.context, Label.current_price, Label.target, Label.status).where(
                Label.label_set_id == run.json()["label_set_id"]
            )
        ).all()
    assert len(rows) == 60
    sent = [json.loads(body["messages"][-1]["content"]) for body in server.bodies]
    assert sorted(json.dumps(c, sort_keys=True) for c in sent) == sorted(
        json.dumps(r.context, sort_keys=True) for r in rows
    )  # the stored context is exactly what went over the wire
    for ts, context, price, target, status in rows:
        text = json.dumps(context)
        assert "GOOG" not in text and "symbol" not in context
        assert not DATE_IN_HISTORY.search(text), text[:300]
        assert context["as_of"] == "t0" and context["current_price"] == 100.0
        # The closes the point could reveal: its own and its 30 candles' (the series it hides).
        day = pd.Timestamp(ts).tz_localize(None) if pd.Timestamp(ts).tzinfo else pd.Timestamp(ts)
        window = closes[closes.index <= day].iloc[-31:]
        assert float(window.iloc[-1]) == pytest.approx(price)
        hidden = set(window.tolist())
        assert not hidden & set(_numbers(context)), (ts, hidden & set(_numbers(context)))
        assert context["recent_candles"][-1][4] == 100.0 and context["recent_candles"][-1][0].startswith(
            "t0 "
        )
        # The reply came back rebased; the stored label is in real prices again.
        if status == "accepted":
            assert 0.5 * price < target < 1.5 * price


def test_experiment_refuses_an_llm_labeler_before_its_cutoff_unless_forced(
    llm_cli: Callable[..., Any], server: FakeLLMServer, home: Path
) -> None:
    args = ("experiment", "--symbol", "GOOG", "--timeframe", "1d", "--labelers", "llm,rules")
    args += ("--bots", "xgb_agent", "--samples", "60", "--folds", "2", "--json")
    ctx = Context(make_settings(home))

    def counts() -> tuple[int, int]:
        with ctx.db.read() as session:
            return tuple(session.scalar(select(func.count()).select_from(t)) for t in (Experiment, LabelSet))  # type: ignore[return-value]

    before = counts()
    refused = llm_cli(*args)
    assert refused.code == 2
    message = refused.json()["error"]["message"]
    assert "cutoff" in message and "2023-10-01" in message and "--force" in message
    assert counts() == before and server.requests == 0  # nothing written, nothing asked

    forced = llm_cli(*args, "--force")
    assert forced.code == 0, forced.err
    doc = forced.json()
    assert doc["status"] == "succeeded"
    assert doc["params"]["forced"] is True and doc["params"]["knowledge_cutoff"] == "2023-10-01"
    window = doc["params"]["window"]
    assert window["heldout_bars_before_cutoff"] == window["heldout_bars"] > 0  # every judged bar
    text = llm_cli(*args[:-1], "--force")  # the human rendering says so too
    assert text.code == 0 and "FORCED past the knowledge cutoff" in text.out


def test_rules_only_experiment_and_post_cutoff_model_are_not_refused(llm_env: LLMEnv) -> None:
    from core.checks import check
    from core.requests import ExperimentRequest

    ctx = llm_env.ctx(llm_knowledge_cutoff="2008-01-01")  # GOOG runs to 2013: after this cutoff
    request = ExperimentRequest(symbol="GOOG", timeframe="1d", labelers=("llm", "rules"), samples=60)
    check(request, ctx)  # no refusal
    late = llm_env.ctx(llm_knowledge_cutoff="2013-03-01")  # the last bar's day: wholly before
    with pytest.raises(Exception, match="cutoff"):
        check(request, late)


def test_point_in_time_news_drops_later_and_undated_headlines() -> None:
    as_of = pd.Timestamp("2012-05-10", tz="UTC")
    now = datetime(2026, 12, 7, tzinfo=UTC)
    news = [
        Headline("before the point", as_of.to_pydatetime() - timedelta(hours=5)),
        Headline("after the point", as_of.to_pydatetime() + timedelta(hours=1)),
        Headline("long before", as_of.to_pydatetime() - timedelta(days=30)),
        Headline("no time given"),
        "no time either",
    ]
    used, dropped = headlines_for(news, as_of, "1d", now)
    assert used == ["before the point"] and dropped == 3  # one from the future, two undated
    current = pd.Timestamp(now) - timedelta(hours=2)
    used_now, dropped_now = headlines_for(news, current, "1d", now)
    assert used_now == ["no time given", "no time either"] and dropped_now == 0


def test_structured_replies_fall_back_once_on_a_400_naming_response_format(llm_env: LLMEnv) -> None:
    if llm_env.provider != "openai":
        pytest.skip("structured outputs are an OpenAI-compatible feature; Freddy documents JSON mode")
    llm_env.server.reject_schema = True
    ctx = llm_env.ctx(llm_concurrency=1)
    result = run_labeling(ctx, "GOOG", "1d", samples=6, labeler="llm", seed=5)
    assert result.status == "succeeded" and result.labeled == 6
    kinds = [b["response_format"]["type"] for b in llm_env.server.bodies]
    assert kinds == ["json_schema"] + ["json_object"] * 6  # one refusal, then JSON mode for the run
    with ctx.db.read() as session:
        params = session.get(LabelSet, result.label_set_id).params
    assert params["structured_outputs"] is False and "response_format" in params["structured_fallback"]

    off = llm_env.ctx(llm_structured_outputs=False)
    llm_env.server.reset_counts()
    run_labeling(off, "GOOG", "1d", samples=3, labeler="llm", seed=6)
    assert {b["response_format"]["type"] for b in llm_env.server.bodies} == {"json_object"}


def test_invalid_replies_are_counted_per_run_on_the_ledger(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    llm_env.server.script("invalid", "text", "ok")
    result = run_labeling(ctx, "GOOG", "1d", samples=8, labeler="llm", seed=8)
    assert result.invalid_replies == 2 and result.rejected == 2
    assert result.as_json()["invalid_replies"] == 2
    with ctx.db.read() as session:
        assert session.get(LabelSet, result.label_set_id).invalid_replies == 2


def test_the_recall_probe_tells_a_remembering_model_from_one_that_is_not(
    llm_cli: Callable[..., Any], server: FakeLLMServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.labeling.probe import last_probe

    # The file's last third lies after this cutoff, so the probe has dates on both sides.
    monkeypatch.setenv("LLM_KNOWLEDGE_CUTOFF", "2010-06-30")
    bars = pd.read_csv(GOOG_CSV, index_col=0, parse_dates=True)
    closes = {ts.date().isoformat(): float(c) for ts, c in bars["Close"].items()}
    server.memory = {d: c for d, c in closes.items() if d <= "2010-06-30"}  # it read the news until then
    run = llm_cli("llm", "probe", "--symbol", "GOOG", "--timeframe", "1d", "--points", "12", "--json")
    assert run.code == 0, run.err
    doc = run.json()
    before, after = doc["before_cutoff"], doc["after_cutoff"]
    assert before["n"] == after["n"] == 12 and doc["knowledge_cutoff"] == "2010-06-30"
    assert before["mean_abs_error"] == 0 and before["recalled_share"] == 1 and before["beats_naive"]
    assert after["mean_abs_error"] > after["naive_mean_abs_error"] and not after["beats_naive"]
    assert doc["remembers"] is True
    # The question named symbol and date (it is a memory test), in the analyst's prompt discipline.
    asked = [json.loads(b["messages"][-1]["content"]) for b in server.bodies]
    assert all(q["task"] == "recall_close" and q["symbol"] == "GOOG" for q in asked)
    assert server.bodies[0]["response_format"]["type"] == "json_schema"

    server.memory = {}  # a model that remembers nothing: no better than yesterday's close
    forgetful = llm_cli("llm", "probe", "--symbol", "GOOG", "--timeframe", "1d", "--points", "12", "--json")
    assert forgetful.code == 0 and forgetful.json()["remembers"] is False
    assert forgetful.json()["before_cutoff"]["beats_naive"] is False
    stored = last_probe(Context(make_settings(home)))
    assert stored is not None and stored["probe_id"] == forgetful.json()["probe_id"]
    text = llm_cli("llm", "probe", "--symbol", "GOOG", "--timeframe", "1d", "--points", "3")
    assert text.code == 0 and "before cutoff" in text.out and "naive" in text.out


def test_training_on_pre_cutoff_labels_is_allowed_and_the_lineage_counts_them(
    llm_cli: Callable[..., Any], home: Path
) -> None:
    from core.db.models import AIModelVersion

    labeled = llm_cli(
        "label", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "llm", "--samples", "80", "--json"
    )
    assert labeled.code == 0, labeled.err
    set_id = labeled.json()["label_set_id"]
    pair = ("--symbol", "GOOG", "--timeframe", "1d")
    trained = llm_cli("train", *pair, "--bots", "xgb_agent", "--label-set", str(set_id), "--json")
    assert trained.code == 0, trained.err
    version_id = trained.json()["versions"][0]["version_id"]
    with Context(make_settings(home)).db.read() as session:
        version = session.get(AIModelVersion, version_id)
        assert version is not None
        lineage = version.lineage
    assert lineage["knowledge_cutoff"] == "2023-10-01"
    assert lineage["labels_pre_cutoff"] == labeled.json()["labeled"] > 0


def test_yahoo_headlines_carry_their_publication_time() -> None:
    from core.data.providers.yahoo import _published

    iso = {"content": {"title": "t", "pubDate": "2026-12-01T14:30:00Z"}}
    assert _published(iso, iso["content"]) == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    epoch = {"title": "t", "providerPublishTime": 1_764_600_000}
    assert _published(epoch, epoch) == datetime.fromtimestamp(1_764_600_000, UTC)
    assert _published({"title": "t"}, {"title": "t"}) is None
    assert _published({}, {"pubDate": "yesterday"}) is None
