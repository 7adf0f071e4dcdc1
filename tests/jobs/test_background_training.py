"""The chart-view path for real: quick training in the background, one job per pair across
processes. (A SIGKILL mid-training is one of the outcomes in `test_outcomes.py`.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.jobs import store
from core.jobs.local.executors import ThreadExecutor
from core.jobs.runner import JobRunner
from core.jobs.triggers import staleness, trigger
from core.requests import TriggerRequest
from tests.conftest import make_settings
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow


def _wait_for(ctx: Context, job_id: int, predicate, timeout: float = 240.0) -> store.JobView:  # type: ignore[no-untyped-def]
    def there() -> store.JobView | None:
        job = store.get_job(ctx.db, job_id)
        return job if predicate(job) else None

    return wait_until(
        there, timeout=timeout, message=lambda: f"job {job_id}: {store.get_job(ctx.db, job_id)}"
    )


def test_stale_pair_trains_in_the_background_then_reads_fresh(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    supply.seed_demo_series(ctx)
    stages: list[str] = []
    real_update = store.update_progress

    def recording_update(db, job_id, fraction, stage, **fields):  # type: ignore[no-untyped-def]
        stages.append(stage)  # every stage the job writes, however short it lasts
        real_update(db, job_id, fraction, stage, **fields)

    monkeypatch.setattr(store, "update_progress", recording_update)
    runner = JobRunner(ctx, executor=ThreadExecutor(2))
    assert staleness(ctx, "INFY.NS", "5m").reason == "no trained model yet"
    started = time.perf_counter()
    result = trigger(runner, TriggerRequest(symbol="INFY.NS", timeframe="5m"))
    assert result.started and result.reason.startswith("stale")
    assert time.perf_counter() - started < 2.0  # the caller never waits for the training
    job = _wait_for(ctx, result.job_id, lambda j: j.status not in store.ACTIVE_STATUSES)
    assert job.status == "succeeded", job.error
    assert "loading bars" in stages  # fresh bars are fetched first, as the original system did
    assert any(s.startswith("labeling") for s in stages), stages
    per_bot = [s for s in stages if s.startswith("training ") and "/" in s]
    assert per_bot == ["training ensemble_bot 1/2", "training lstm_bot 2/2"], stages
    assert stages[-2:] == ["activating", "done"]  # the gate's activations are applied at the end
    bots = {v["bot"] for v in job.result["versions"]}
    assert bots == {"ensemble_bot", "lstm_bot"}
    fresh = staleness(ctx, "INFY.NS", "5m")
    assert not fresh.stale
    again = trigger(runner, TriggerRequest(symbol="INFY.NS", timeframe="5m"))
    assert not again.started and again.reason.startswith("fresh")
    runner.shutdown(wait=True)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_"))}
    return {**env, "CANDLELAB_HOME": str(home), **extra}


def test_twenty_processes_trigger_one_pair_and_exactly_one_job_starts(home: Path) -> None:
    ctx = Context.create(make_settings(home), logs=False)
    supply.seed_demo_series(ctx)
    # What is asserted is one job across processes, and that it succeeds: one bot on fewer bars and
    # folds is a real training that ends sooner.
    env = _env(home, QUICK_BOTS="ensemble_bot", QUICK_HISTORY_BARS="4000", WALKFORWARD_FOLDS="2")
    cmd = [sys.executable, "-m", "core", "trigger", "--symbol", "TCS.NS", "--timeframe", "5m", "--json"]
    procs = [subprocess.Popen(cmd, cwd=home, env=env, stdout=subprocess.PIPE, text=True) for _ in range(20)]
    docs = [json.loads(p.communicate(timeout=180)[0]) for p in procs]
    started = [d for d in docs if d["started"]]
    assert len(started) == 1, docs
    job_id = started[0]["job_id"]
    assert all(d["job_id"] == job_id for d in docs if "already" in d["reason"])
    assert len(store.list_jobs(ctx.db)) == 1
    done = _wait_for(ctx, job_id, lambda j: j.status not in store.ACTIVE_STATUSES)
    assert done.status == "succeeded", done.error
    forget_database(ctx.settings.db_url)
