"""Batch labeling through the fake server's OpenAI Batch API: batch prices on the ledger, the daily
budget, progress, cancel, partial failure, expiry, and a restart that resumes the batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import Context
from core.data import supply as data_service
from core.db.database import forget_database
from core.db.models import Label, LabelSet, LLMBatch, LLMCall
from core.labeling.llm import ledger
from core.labeling.service import run_labeling
from core.settings import Settings
from tests.conftest import GOOG_CSV, REPO, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY, EARLY_CUTOFF

N = 500


def _env(server: FakeLLMServer, **extra: Any) -> dict[str, Any]:
    return {
        "llm_provider": "openai",
        "openai_api_key": API_KEY,
        "openai_base_url": server.openai_url,
        "openai_model": "gpt-4o",
        "llm_timeout": 5.0,
        "llm_batch": "on",
        "llm_batch_poll_s": 0.05,
        "llm_knowledge_cutoff": EARLY_CUTOFF,
        **extra,
    }


class BatchEnv:
    def __init__(self, home: Path, server: FakeLLMServer) -> None:
        self.home, self.server = home, server
        self._imported = False

    def settings(self, **extra: Any) -> Settings:
        return make_settings(self.home, **_env(self.server, **extra))

    def ctx(self, **extra: Any) -> Context:
        ctx = Context.create(self.settings(**extra), logs=False)
        if not self._imported:
            data_service.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
            self._imported = True
        return ctx


@pytest.fixture
def env(tmp_path: Path) -> Iterator[BatchEnv]:
    home = tmp_path / "home"
    home.mkdir()
    with FakeLLMServer(api_key=API_KEY) as server:
        yield BatchEnv(home, server)
    forget_database(make_settings(home).db_url)


def _rows(ctx: Context, label_set_id: int) -> list[Any]:
    with ctx.db.read() as session:
        return session.execute(
            select(
                LLMCall.status, LLMCall.cost_usd, LLMCall.tokens_in, LLMCall.tokens_out, LLMCall.batch_id
            ).where(LLMCall.label_set_id == label_set_id)
        ).all()


def _assert_batch_priced(ctx: Context, label_set_id: int, expected_ok: int) -> float:
    rows = _rows(ctx, label_set_id)
    ok = [r for r in rows if r.status == "ok"]
    assert len(ok) == expected_ok and all(r.batch_id is not None for r in rows if r.status != "cached")
    for r in ok:
        full = ledger.cost_usd(ctx.settings, "gpt-4o", r.tokens_in, r.tokens_out)
        assert r.cost_usd == pytest.approx(full / 2) and r.cost_usd > 0  # half the list price
    assert not [r for r in rows if r.status == "sent"]  # every reservation settled
    return sum(r.cost_usd for r in rows)


def test_a_500_point_run_goes_through_the_batch_api_at_batch_prices(env: BatchEnv) -> None:
    ctx = env.ctx()
    stages: list[str] = []
    result = run_labeling(
        ctx, "GOOG", "1d", samples=N, labeler="llm", seed=1, progress=lambda f, s: stages.append(s)
    )
    assert result.status == "succeeded" and result.labeled == N and result.rejected == 0
    assert env.server.requests == 0  # not one synchronous call
    assert env.server.batches.batches_created == 1 and env.server.batches.files_created == 1
    total = _assert_batch_priced(ctx, result.label_set_id, N)
    assert result.cost_usd == pytest.approx(total) and result.api_calls == N
    assert (
        any(s.startswith("batch in_progress") for s in stages) and "batch completed: 500/500 done" in stages
    )
    with ctx.db.read() as session:
        batch = session.scalars(select(LLMBatch)).one()
        assert (batch.status, batch.requests, batch.completed) == ("collected", N, N)
        assert session.get(LabelSet, result.label_set_id).params["batch"] is True
    # The same run again is answered from the cache: no second batch.
    again = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm", seed=1)
    assert again.cache_hits == N and env.server.batches.batches_created == 1


def test_the_daily_budget_caps_what_goes_into_a_batch(env: BatchEnv) -> None:
    probe = env.ctx()
    one = run_labeling(probe, "GOOG", "1d", samples=10, labeler="llm", seed=2)
    per_request = one.cost_usd / 10
    with probe.db.read() as session:
        spent = ledger.spent_today(session)
    budget = spent + 60 * per_request  # about 40 reservations fit (they are prudent upper bounds)
    ctx = env.ctx(llm_daily_budget_usd=budget)
    result = run_labeling(ctx, "GOOG", "1d", samples=200, labeler="llm", seed=3)
    assert result.status == "budget_exhausted" and "LLM_DAILY_BUDGET_USD" in (result.message or "")
    assert 0 < result.labeled < 200 and result.not_attempted == 200 - result.labeled - result.rejected
    with ctx.db.read() as session:
        assert ledger.spent_today(session) <= budget
        submitted = session.scalars(select(LLMBatch.requests).order_by(LLMBatch.id.desc())).first()
    assert submitted == result.labeled + result.rejected


def test_partial_failure_and_expiry_are_stored_rejected_and_cost_nothing(env: BatchEnv) -> None:
    ctx = env.ctx()
    env.server.batches.fault, env.server.batches.fail_every = "partial", 10
    partial = run_labeling(ctx, "GOOG", "1d", samples=50, labeler="llm", seed=4)
    assert partial.labeled == 45 and partial.rejected == 5 and partial.status == "succeeded"
    _assert_batch_priced(ctx, partial.label_set_id, 45)
    reasons = _reasons(ctx, partial.label_set_id)
    assert len(reasons) == 5 and all("batch request failed (500)" in r for r in reasons)

    env.server.batches.fault, env.server.batches.expire_after = "expire", 30
    expired = run_labeling(ctx, "GOOG", "1d", samples=50, labeler="llm", seed=5)
    # 30 ran before the window closed (points seen before come from the cache), the rest expired.
    assert expired.labeled == 30 + expired.cache_hits and expired.rejected == 50 - expired.labeled
    _assert_batch_priced(ctx, expired.label_set_id, 30)
    reasons = _reasons(ctx, expired.label_set_id)
    assert reasons and all("batch_expired" in r for r in reasons)

    env.server.batches.fault = "fail"
    failed = run_labeling(ctx, "GOOG", "1d", samples=40, labeler="llm", seed=6, bypass_cache=True)
    assert failed.status == "failed" and failed.labeled == 0 and failed.cost_usd == 0


def _reasons(ctx: Context, label_set_id: int) -> list[str]:
    with ctx.db.read() as session:
        return list(
            session.scalars(
                select(Label.reject_reason).where(
                    Label.label_set_id == label_set_id, Label.status == "rejected"
                )
            )
        )


def test_cancel_asks_the_provider_and_keeps_what_finished(env: BatchEnv) -> None:
    ctx = env.ctx()
    env.server.batches.paused = True
    polls: list[str] = []

    def cancelled() -> bool:
        return len(polls) >= 3

    from core.labeling.service import LabelingCancelled

    with pytest.raises(LabelingCancelled) as caught:
        run_labeling(
            ctx,
            "GOOG",
            "1d",
            samples=40,
            labeler="llm",
            seed=7,
            progress=lambda f, s: polls.append(s),
            should_cancel=cancelled,
        )
    result = caught.value.result
    assert result.status == "cancelled" and result.labeled == 0 and result.not_attempted == 40
    assert env.server.batches.cancels == 1
    rows = _rows(ctx, result.label_set_id)
    assert rows and all(r.status == "error" and r.cost_usd == 0 for r in rows)


def test_urgent_work_stays_synchronous(env: BatchEnv) -> None:
    ctx = env.ctx()
    from core.labeling.service import label
    from core.requests import LabelingRequest

    request = LabelingRequest(symbol="GOOG", timeframe="1d", samples=6, labeler="llm", urgent=True)
    result = label(ctx, request)
    assert result.labeled == 6 and env.server.requests == 6 and env.server.batches.batches_created == 0


def _wait(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_restart_mid_batch_resumes_polling_without_resubmitting(env: BatchEnv) -> None:
    ctx = env.ctx()
    env.server.batches.paused = True
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "FREDDY_"))}
    child_env.update({name.upper(): str(value) for name, value in _env(env.server).items()})
    child_env.update(CANDLELAB_HOME=str(env.home), PYTHONPATH=str(REPO))
    args = [
        "label",
        "--symbol",
        "GOOG",
        "--timeframe",
        "1d",
        "--labeler",
        "llm",
        "--samples",
        str(N),
        "--json",
    ]
    child = subprocess.Popen(
        [sys.executable, "-m", "core", *args],
        cwd=env.home,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def submitted() -> bool:
            with ctx.db.read() as session:
                return session.scalar(select(func.count()).where(LLMBatch.remote_id.is_not(None))) == 1

        _wait(submitted)
        _wait(lambda: env.server.batches.polls >= 2)  # polling, in progress
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    with ctx.db.read() as session:
        first_set = session.scalars(select(LabelSet.id)).one()
        assert ledger.spent_today(session) > 0  # the reservations stand while the batch runs

    env.server.batches.paused = False
    result = run_labeling(ctx, "GOOG", "1d", samples=N, labeler="llm", seed=0)
    assert result.status == "succeeded" and result.labeled == N
    assert (
        env.server.batches.batches_created == 1 and env.server.batches.files_created == 1
    )  # not resubmitted
    assert env.server.requests == 0
    _assert_batch_priced(ctx, result.label_set_id, N)
    with ctx.db.read() as session:
        old = session.get(LabelSet, first_set)
        assert (
            old is not None
            and old.status == "interrupted"
            and str(result.label_set_id) in (old.message or "")
        )
        assert ledger.spent_today(session) <= ctx.settings.llm_daily_budget_usd
        assert ledger.ledger_totals(session, label_set_id=first_set).calls == 0  # the rows moved


def test_the_estimate_before_a_run_prices_batch_work_at_batch_prices(env: BatchEnv) -> None:
    from core.labeling.cost import estimate_cost

    on = estimate_cost(env.ctx(), N, "llm")
    off = estimate_cost(env.ctx(llm_batch="off"), N, "llm")
    auto_small = estimate_cost(env.ctx(llm_batch="auto", llm_batch_min_points=N + 1), N, "llm")
    assert on["batch"] is True and off["batch"] is False and auto_small["batch"] is False
    assert on["usd"] == pytest.approx(off["usd"] / 2) and off["usd"] == auto_small["usd"] > 0
