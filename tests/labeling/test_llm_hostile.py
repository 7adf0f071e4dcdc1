"""A hostile LLM server, through the real engine: huge replies, trickled replies, refused keys, retries.

Each run must reject what it cannot use with the reason, store only bounded text, end every
attempt by its deadline and leave every request it sent on the ledger, charged what it cost.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.db.models import Label, LabelSet, LLMCall, LLMResponseCache
from core.errors import LLMAuthError
from core.labeling.llm import ledger
from core.labeling.service import run_labeling
from tests.labeling.conftest import LLMEnv, assert_accounted


def _rows(ctx, set_id: int) -> list[LLMCall]:
    with ctx.db.read() as session:
        return list(
            session.scalars(select(LLMCall).where(LLMCall.label_set_id == set_id).order_by(LLMCall.id))
        )


def _assert_set_matches_ledger(ctx, set_id: int) -> ledger.LedgerTotals:
    with ctx.db.read() as session:
        totals = ledger.ledger_totals(session, label_set_id=set_id)
        label_set = session.get(LabelSet, set_id)
    assert label_set.api_calls == totals.calls
    assert label_set.cost_usd == pytest.approx(totals.cost_usd, abs=1e-12)
    assert (label_set.tokens_in, label_set.tokens_out) == (totals.tokens_in, totals.tokens_out)
    return totals


def test_a_50_mb_reply_is_rejected_after_64_kb_and_stored_as_an_excerpt(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx(llm_concurrency=2)
    llm_env.server.script("huge")
    tracemalloc.start()
    try:
        result = run_labeling(ctx, "GOOG", "1d", samples=4, labeler="llm", seed=21)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB: the reply was not read in bounded memory"
    assert_accounted(ctx, result)
    assert (result.labeled, result.rejected) == (3, 1)
    assert llm_env.server.requests == 4  # an oversized reply is an answer: not retried
    assert llm_env.server.body_bytes_sent < 8 * 1024 * 1024  # the client hung up long before 50 MB

    with ctx.db.read() as session:
        reason, raw = session.execute(
            select(Label.reject_reason, Label.raw_reply).where(
                Label.label_set_id == result.label_set_id, Label.status == "rejected"
            )
        ).one()
        stored = session.scalar(select(func.sum(func.length(Label.raw_reply))))
        cached = session.scalar(select(func.max(func.length(LLMResponseCache.response_text))))
    assert "larger than 65,536 bytes (LLM_MAX_REPLY_BYTES)" in reason
    assert raw.startswith(('{"choices"', '{"output"')) and "truncated" in raw and len(raw) < 2_200
    assert stored < 16_000 and cached < 2_000  # bounded everywhere, and only accepted replies cached

    big = next(r for r in _rows(ctx, result.label_set_id) if r.status == "error")
    assert 65_536 < big.reply_bytes < 65_536 + 2 * 65_536  # read up to the cap, then stopped
    # Costed by what arrived (about 16k tokens out), not a constant a huge reply could slip under.
    assert big.tokens_out >= 65_536 // 4 and big.cost_usd >= ledger.cost_usd(
        ctx.settings, "gpt-4o", 0, 16_384
    )
    _assert_set_matches_ledger(ctx, result.label_set_id)
    db_file = llm_env.home / "candlelab.db"
    assert db_file.stat().st_size < 8 * 1024 * 1024


@pytest.mark.serial
def test_a_trickling_server_cannot_hold_an_attempt_past_its_deadline(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx(llm_timeout=1.0, llm_max_retries=1, llm_concurrency=1)
    llm_env.server.trickle_s = 0.02  # every read arrives well inside the per-read timeout
    llm_env.server.script("trickle", "trickle")  # one point's two attempts
    started = time.perf_counter()
    result = run_labeling(ctx, "GOOG", "1d", samples=3, labeler="llm", seed=22)
    wall = time.perf_counter() - started
    assert_accounted(ctx, result)
    assert (result.labeled, result.rejected) == (2, 1)
    assert wall < 8.0, f"{wall:.1f} s: a trickle held the run (a full reply takes ~{0.02 * 900:.0f} s)"
    slow = next(r for r in _rows(ctx, result.label_set_id) if r.status == "error")
    assert slow.attempts == 2 and "deadline" in slow.error and "gave up after 2 attempts" in slow.error
    assert 2 * 1_000 <= slow.latency_ms < 2 * 1_000 + 1_500  # two attempts, each ended at 1 s
    # The bytes that did arrive are billed: a provider charges for what it sent.
    assert 0 < slow.reply_bytes < 2 * 1.0 / 0.02 + 10 and slow.cost_usd > 0
    _assert_set_matches_ledger(ctx, result.label_set_id)


def test_every_request_of_a_refused_key_is_on_the_ledger(llm_env: LLMEnv) -> None:
    wrong = {f"{llm_env.provider}_api_key": "sk-wrong-key-000000"}
    llm_env.server.latency = 0.05  # all eight in flight together
    ctx = llm_env.ctx(llm_concurrency=8, **wrong)
    with pytest.raises(LLMAuthError) as caught:
        run_labeling(ctx, "GOOG", "1d", samples=20, labeler="llm", seed=23)
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.status == "auth_failed" and result.not_attempted == 20
    totals = _assert_set_matches_ledger(ctx, result.label_set_id)
    assert 1 <= llm_env.server.requests <= 8
    assert totals.calls == totals.attempts == llm_env.server.requests  # each one, not just the first
    assert totals.cost_usd == 0 and totals.in_flight == 0
    assert {r.http_status for r in _rows(ctx, result.label_set_id)} == {401}


def test_retries_and_partial_failures_are_counted_per_request(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx(llm_concurrency=1)
    llm_env.server.script("500", "429", "text")
    result = run_labeling(ctx, "GOOG", "1d", samples=3, labeler="llm", seed=24)
    totals = _assert_set_matches_ledger(ctx, result.label_set_id)
    assert totals.calls == 3 and totals.attempts == llm_env.server.requests == 5
    assert result.http_attempts == 5 and result.api_calls == 3
    first = _rows(ctx, result.label_set_id)[0]
    assert (first.status, first.attempts, first.finished_at is not None) == ("ok", 3, True)
    assert first.reserved_usd > first.cost_usd > 0  # the reservation errs high; the real cost settles it


def test_a_jobs_calls_and_cost_are_its_label_sets_ledger_rows(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    a = run_labeling(ctx, "GOOG", "1d", samples=3, labeler="llm", seed=25, job_id=4242)
    b = run_labeling(ctx, "GOOG", "1d", samples=2, labeler="llm", seed=26, job_id=4242)
    run_labeling(ctx, "GOOG", "1d", samples=2, labeler="llm", seed=27, job_id=7)  # another job
    with ctx.db.read() as session:
        job = ledger.ledger_totals(session, job_id=4242)
        today = ledger.ledger_totals(session, since=ledger.day_start())
        spent = ledger.spent_today(session)
    assert job.calls == a.api_calls + b.api_calls == 5
    assert job.cost_usd == pytest.approx(a.cost_usd + b.cost_usd)
    assert today.calls == 7 and today.cost_usd == pytest.approx(spent)


def test_rows_left_sent_by_a_dead_process_become_lost_but_stay_charged(llm_env: LLMEnv) -> None:
    ctx = llm_env.ctx()
    result = run_labeling(ctx, "GOOG", "1d", samples=2, labeler="llm", seed=28)
    row = ledger.CallRow(result.label_set_id, llm_env.provider, "gpt-4o", "k" * 64, "sent")
    now = datetime.now(UTC)
    with ctx.db.session() as session:
        call_id = ledger.reserve(
            session, row, reserved_usd=0.5, limit_usd=100.0, expires_at=now + timedelta(minutes=2)
        )
    with ctx.db.session() as session:
        assert ledger.close_lost(session, now + timedelta(minutes=1)) == 0  # still possibly running
        assert ledger.close_lost(session, now + timedelta(minutes=3)) == 1
    with ctx.db.read() as session:
        lost = session.get(LLMCall, call_id)
        assert (lost.status, lost.cost_usd, lost.expires_at) == ("lost", 0.5, None)
        assert ledger.spent_today(session) == pytest.approx(result.cost_usd + 0.5)
