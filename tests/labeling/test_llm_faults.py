"""Every fault of a real LLM API, on both wire formats, through the real client and a real server.

Each run must end with labeled + rejected == requested (or a clean 401/cancel stop), never crash,
and leave everything stored before it untouched.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from core.db.models import Label, LabelSet, LLMCall
from core.errors import JobCancelled, LLMAuthError
from core.labeling.prompt import PROMPT_VERSION
from core.labeling.service import run_labeling
from tests.labeling.conftest import LLMEnv, assert_accounted, stored_snapshot

N = 8


def _prior(env: LLMEnv):
    """A stored rule-labeled set that no LLM run may touch."""
    ctx = env.ctx()
    run_labeling(ctx, "GOOG", "1d", samples=15, labeler="rules", seed=99)
    return ctx, stored_snapshot(ctx)


def _reasons(ctx, set_id: int) -> list[str]:
    with ctx.db.read() as session:
        return list(
            session.scalars(
                select(Label.reject_reason).where(Label.label_set_id == set_id, Label.status == "rejected")
            )
        )


def test_clean_run_labels_every_point_and_ledgers_each_call(llm_env: LLMEnv) -> None:
    ctx, before = _prior(llm_env)
    result = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm")
    assert_accounted(ctx, result)
    assert result.status == "succeeded" and result.labeled == N and result.rejected == 0
    assert result.api_calls == N == llm_env.server.requests
    assert result.cost_usd > 0 and result.tokens_in > 0
    # OpenAI reports usage; the Freddy envelope does not, so its tokens are estimates and say so.
    assert result.tokens_estimated is (llm_env.provider == "freddy")
    assert result.quality["labels"] == N
    assert stored_snapshot(ctx, exclude_set=result.label_set_id) == before
    with ctx.db.read() as session:
        label_set = session.get(LabelSet, result.label_set_id)
        assert (label_set.provider, label_set.model, label_set.prompt_version) == (
            llm_env.provider,
            "gpt-4o",
            PROMPT_VERSION,
        )
        assert label_set.params["concurrency"] == 8 and label_set.quality["labels"] == N
        linked = session.scalars(
            select(Label.llm_call_id).where(Label.label_set_id == result.label_set_id)
        ).all()
        assert all(linked) and len(set(linked)) == N


@pytest.mark.parametrize(
    ("fault", "extra_requests"),
    [("429", 3), ("500", 3), ("hang", 3)],
)
def test_transient_faults_are_retried_until_every_point_is_labeled(
    llm_env: LLMEnv, fault: str, extra_requests: int
) -> None:
    ctx, before = _prior(llm_env)
    ctx = llm_env.ctx(llm_timeout=1.0)  # a hang costs one timeout before its retry
    llm_env.server.retry_after = "0.2"
    llm_env.server.hang_s = 3.0
    llm_env.server.script(*[fault] * extra_requests)
    result = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm", seed=1)
    assert_accounted(ctx, result)
    assert result.labeled == N and result.rejected == 0
    assert llm_env.server.requests == N + extra_requests
    assert result.api_calls == N and result.http_attempts == N + extra_requests
    assert stored_snapshot(ctx, exclude_set=result.label_set_id) == before


def test_retry_after_is_honoured(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx(llm_concurrency=1)
    llm_env.server.retry_after = "0.4"
    llm_env.server.script("429")
    started = time.perf_counter()
    result = run_labeling(ctx, "GOOG", "1d", samples=2, labeler="llm")
    assert result.labeled == 2
    assert time.perf_counter() - started >= 0.4


@pytest.mark.parametrize(
    ("fault", "reason"), [("500", "HTTP 500"), ("hang", "timed out"), ("429", "HTTP 429")]
)
def test_persistent_faults_reject_points_with_the_reason(llm_env: LLMEnv, fault: str, reason: str) -> None:
    ctx, before = _prior(llm_env)
    llm_env.server.default = fault
    llm_env.server.hang_s = 3.0
    ctx = llm_env.ctx(llm_timeout=1.0, llm_max_retries=1)
    n = 4
    result = run_labeling(ctx, "GOOG", "1d", samples=n, labeler="llm", seed=2)
    assert_accounted(ctx, result)
    assert result.status == "failed" and result.labeled == 0 and result.rejected == n  # every request failed
    assert "every LLM request failed" in (result.message or "")
    assert llm_env.server.requests == n * 2  # one retry each
    assert result.cost_usd == 0
    reasons = _reasons(ctx, result.label_set_id)
    assert len(reasons) == n and all(reason in r and "gave up after 2 attempts" in r for r in reasons)
    with ctx.db.read() as session:
        errors = session.scalars(
            select(LLMCall.status).where(LLMCall.label_set_id == result.label_set_id)
        ).all()
    assert errors == ["error"] * n
    assert stored_snapshot(ctx, exclude_set=result.label_set_id) == before


@pytest.mark.parametrize(("fault", "reason"), [("text", "not a JSON object"), ("invalid", "BUY needs")])
def test_bad_replies_are_rejected_with_reason_and_raw_reply(llm_env: LLMEnv, fault: str, reason: str) -> None:
    ctx, before = _prior(llm_env)
    llm_env.server.script(fault, fault, fault)
    result = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm", seed=3)
    assert_accounted(ctx, result)
    assert result.rejected == 3 and result.labeled == N - 3
    assert llm_env.server.requests == N  # a bad reply is an answer: not retried
    with ctx.db.read() as session:
        rejected = session.execute(
            select(Label.reject_reason, Label.raw_reply, Label.context).where(
                Label.label_set_id == result.label_set_id, Label.status == "rejected"
            )
        ).all()
    assert all(reason in r and raw and context["symbol"] == "GOOG" for r, raw, context in rejected)
    assert stored_snapshot(ctx, exclude_set=result.label_set_id) == before


def test_rejected_replies_are_not_cached_so_a_rerun_retries_only_them(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    llm_env.server.script("text", "invalid")
    first = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm", seed=4)
    assert first.rejected == 2
    llm_env.server.reset_counts()
    again = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm", seed=4)
    assert again.labeled == N and again.cache_hits == N - 2 and again.api_calls == 2
    assert llm_env.server.requests == 2


def test_mixed_faults_keep_the_invariant(llm_env: LLMEnv) -> None:
    ctx, before = _prior(llm_env)
    llm_env.server.retry_after = "0.1"
    llm_env.server.hang_s = 3.0
    llm_env.server.script("429", "text", "500", "invalid", "hang", "ok", "500", "text")
    n = 12
    result = run_labeling(ctx, "GOOG", "1d", samples=n, labeler="llm", seed=5)
    assert_accounted(ctx, result)
    # Retries take scripted behaviours too, so which point gets which is up to arrival order; but
    # every bad reply rejects exactly one point and every other point ends labeled.
    served = llm_env.server.by_behaviour
    gave_up = [r for r in _reasons(ctx, result.label_set_id) if r.startswith("LLM request failed")]
    assert result.rejected == served["text"] + served["invalid"] + len(gave_up) >= 3
    assert stored_snapshot(ctx, exclude_set=result.label_set_id) == before


def test_invalid_key_stops_the_whole_run_at_once(llm_env: LLMEnv) -> None:
    ctx, before = _prior(llm_env)
    ctx = llm_env.ctx(
        llm_concurrency=3,
        **{f"{'freddy' if llm_env.provider == 'freddy' else 'openai'}_api_key": "sk-wrong-key-000000"},
    )
    with pytest.raises(LLMAuthError) as caught:
        run_labeling(ctx, "GOOG", "1d", samples=20, labeler="llm", seed=6)
    message = str(caught.value)
    assert "HTTP 401" in message and "API key" in message
    assert llm_env.server.requests <= 3  # the rest were never sent
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.status == "auth_failed" and result.labeled == 0
    assert_accounted(ctx, result, stopped=True)
    assert result.not_attempted == 20
    assert stored_snapshot(ctx, exclude_set=result.label_set_id) == before


def test_auth_failure_mid_run_keeps_finished_labels(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx(llm_concurrency=1)
    llm_env.server.script("ok", "ok", "ok", "401")
    with pytest.raises(LLMAuthError) as caught:
        run_labeling(ctx, "GOOG", "1d", samples=10, labeler="llm", seed=7)
    result = caught.value.result  # type: ignore[attr-defined]
    assert (result.labeled, result.rejected, result.not_attempted) == (3, 0, 7)
    assert_accounted(ctx, result, stopped=True)
    assert llm_env.server.requests == 4


def test_cancel_stops_between_points_and_keeps_labels(llm_env: LLMEnv) -> None:
    llm_env.server.latency = 0.05
    ctx = llm_env.ctx(llm_concurrency=2)
    with pytest.raises(JobCancelled) as caught:
        run_labeling(
            ctx,
            "GOOG",
            "1d",
            samples=12,
            labeler="llm",
            seed=8,
            should_cancel=lambda: llm_env.server.requests >= 4,
        )
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.status == "cancelled"
    assert_accounted(ctx, result, stopped=True)
    assert 0 < result.labeled + result.rejected < 12
    assert llm_env.server.requests <= 5


@pytest.mark.serial
def test_concurrency_overlaps_requests(llm_env: LLMEnv) -> None:
    latency, n, concurrency = 0.3, 20, 8
    llm_env.server.latency = latency
    ctx = llm_env.ctx(llm_concurrency=concurrency)
    progress: list[tuple[float, str]] = []
    started = time.perf_counter()
    result = run_labeling(
        ctx, "GOOG", "1d", samples=n, labeler="llm", progress=lambda f, s: progress.append((f, s))
    )
    wall = time.perf_counter() - started
    assert result.labeled == n
    sequential = n * latency  # 6 s one at a time; ideal with 8 in flight: 3 waves, 0.9 s
    assert wall < sequential / 2, f"{wall:.2f} s is not concurrent (sequential {sequential:.1f} s)"
    assert 4 <= llm_env.server.peak_in_flight <= concurrency
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(stage == f"labeling {n}/{n}" for _, stage in progress)
