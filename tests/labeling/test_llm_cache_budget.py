"""The response cache (an identical re-run costs nothing) and the daily budget (a clean stop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from core.db.models import LLMCall, LLMResponseCache
from core.labeling.cost import estimate_cost
from core.labeling.llm import cache, ledger
from core.labeling.service import run_labeling
from tests.labeling.conftest import LLMEnv, assert_accounted

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database

# Expensive enough that a few calls reach a small budget: ~1,100 prompt tokens cost ~$1.10 a call.
PRICES = {"gpt-4o": (1000.0, 1000.0)}


def test_identical_rerun_makes_zero_api_calls(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    first = run_labeling(ctx, "GOOG", "1d", samples=10, labeler="llm", seed=11)
    assert first.api_calls == 10 == llm_env.server.requests
    llm_env.server.reset_counts()
    again = run_labeling(ctx, "GOOG", "1d", samples=10, labeler="llm", seed=11)
    assert llm_env.server.requests == 0
    assert (again.api_calls, again.cache_hits, again.labeled, again.cost_usd) == (0, 10, 10, 0.0)
    assert_accounted(ctx, again)
    with ctx.db.read() as session:
        first_labels = session.execute(
            select(LLMCall.status, func.count())
            .where(LLMCall.label_set_id == again.label_set_id)
            .group_by(LLMCall.status)
        ).all()
    assert dict(first_labels) == {"cached": 10}
    # The same labels as the first time: the cached reply is the reply.
    assert again.quality["counts"] == first.quality["counts"]


def test_bypass_cache_and_changed_parameters_ask_again(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    run_labeling(ctx, "GOOG", "1d", samples=5, labeler="llm", seed=12)
    llm_env.server.reset_counts()
    bypass = run_labeling(ctx, "GOOG", "1d", samples=5, labeler="llm", seed=12, bypass_cache=True)
    assert bypass.api_calls == 5 == llm_env.server.requests and bypass.cache_hits == 0
    llm_env.server.reset_counts()
    warmer = llm_env.ctx(llm_temperature=0.2)  # a different parameter is a different question
    changed = run_labeling(warmer, "GOOG", "1d", samples=5, labeler="llm", seed=12)
    assert changed.api_calls == 5 == llm_env.server.requests


def test_cache_ttl_applies_only_to_live_runs(llm_env: LLMEnv) -> None:
    settings = llm_env.settings(llm_cache_ttl=300)
    assert cache.max_age_for(settings, live_run=False) is None  # stored data: any age
    assert cache.max_age_for(settings, live_run=True) == 300
    ctx = llm_env.ctx()
    run_labeling(ctx, "GOOG", "1d", samples=3, labeler="llm", seed=13)
    with ctx.db.session() as session:
        keys = list(session.scalars(select(LLMResponseCache.cache_key)))
        session.execute(
            update(LLMResponseCache).values(created_at=datetime.now(UTC) - timedelta(seconds=600))
        )
    with ctx.db.read() as session:
        assert len(cache.lookup(session, keys, max_age_s=None)) == 3
        assert cache.lookup(session, keys, max_age_s=300) == {}
        assert len(cache.lookup(session, keys, max_age_s=900)) == 3


def test_cache_key_covers_every_input() -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": '{"a":1}'}]
    base = cache.cache_key("freddy", "gpt-4o", messages, {"temperature": 0.7}, "v1")
    assert base == cache.cache_key(
        "freddy", "gpt-4o", [dict(m) for m in messages], {"temperature": 0.7}, "v1"
    )
    variants = [
        cache.cache_key("openai", "gpt-4o", messages, {"temperature": 0.7}, "v1"),
        cache.cache_key("freddy", "gpt-4o-mini", messages, {"temperature": 0.7}, "v1"),
        cache.cache_key("freddy", "gpt-4o", messages[:1], {"temperature": 0.7}, "v1"),
        cache.cache_key("freddy", "gpt-4o", messages, {"temperature": 0.2}, "v1"),
        cache.cache_key("freddy", "gpt-4o", messages, {"temperature": 0.7}, "v2"),
    ]
    assert len({base, *variants}) == 6 and len(base) == 64


def test_budget_stops_cleanly_and_keeps_labels(llm_env: LLMEnv) -> None:
    budget = 5.0
    ctx = llm_env.ctx(llm_prices=PRICES, llm_daily_budget_usd=budget)
    result = run_labeling(ctx, "GOOG", "1d", samples=20, labeler="llm", seed=14)
    assert result.status == "budget_exhausted" and "budget" in (result.message or "")
    assert_accounted(ctx, result, stopped=True)
    assert 1 <= result.labeled < 20 and result.not_attempted > 0
    assert result.api_calls == llm_env.server.requests
    with ctx.db.read() as session:
        spent = ledger.spent_today(session)
    assert 0 < spent <= budget  # expected costs are reserved before sending, so no overshoot

    # Later the same day: what is left buys at most one more call, then nothing at all.
    llm_env.server.reset_counts()
    more = run_labeling(ctx, "GOOG", "1d", samples=20, labeler="llm", seed=15)
    assert more.status == "budget_exhausted" and more.api_calls <= 1
    llm_env.server.reset_counts()
    broke = run_labeling(
        llm_env.ctx(llm_prices=PRICES, llm_daily_budget_usd=0.0),
        "GOOG",
        "1d",
        samples=6,
        labeler="llm",
        seed=16,
    )
    assert (broke.status, broke.labeled, broke.not_attempted, llm_env.server.requests) == (
        "budget_exhausted",
        0,
        6,
        0,
    )
    assert_accounted(ctx, broke, stopped=True)


def test_cached_points_are_labeled_even_when_the_budget_is_spent(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    run_labeling(ctx, "GOOG", "1d", samples=6, labeler="llm", seed=17)
    llm_env.server.reset_counts()
    broke = llm_env.ctx(llm_daily_budget_usd=0.0)
    again = run_labeling(broke, "GOOG", "1d", samples=6, labeler="llm", seed=17)
    assert (again.status, again.labeled, again.cache_hits, llm_env.server.requests) == ("succeeded", 6, 6, 0)


def test_estimate_before_a_run(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx(llm_prices=PRICES, llm_daily_budget_usd=50.0)
    est = estimate_cost(ctx, 10, "llm")
    assert (
        est["calls"] == 10
        and est["tokens_in"] > 10 * 500
        and est["tokens_out"] == 10 * ledger.EXPECTED_OUTPUT_TOKENS
    )
    assert est["usd"] > 10 and est["within_budget"] is True and est["budget_remaining_usd"] == 50.0
    run = run_labeling(ctx, "GOOG", "1d", samples=10, labeler="llm", seed=18)
    assert run.cost_usd <= est["usd"]  # an upper bound: the estimate errs high
    after = estimate_cost(ctx, 40, "llm")
    assert after["spent_today_usd"] == round(run.cost_usd, 6)
    assert after["within_budget"] is False  # 40 more calls would not fit in what is left
    assert estimate_cost(ctx, 10, "rules")["usd"] == 0.0
