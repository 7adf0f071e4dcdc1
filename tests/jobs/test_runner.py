"""The job runner's mechanics with simple bodies: slots, progress, failures, cancellation, recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update

from core.context import Context
from core.data import store as bar_store
from core.db.models import TrainingJob
from core.db.types import utcnow
from core.errors import BadInput, JobCancelled
from core.jobs import store
from core.jobs.bodies import JobEnd
from core.jobs.local.executors import ThreadExecutor
from core.jobs.recovery import recover_orphans
from core.jobs.runner import JobRunner
from core.jobs.store import JobView
from core.jobs.triggers import staleness, trigger
from core.registry.versions import discard_versions
from core.reporting import Reporter
from core.requests import TrainingRequest, TriggerRequest
from tests.bots.helpers import add_version
from tests.support.servers import wait_until


def quick(symbol: str, timeframe: str, kind: str = "quick") -> TrainingRequest:
    return TrainingRequest(symbol=symbol, timeframe=timeframe, kind=kind, bots=("xgb_agent",))  # type: ignore[arg-type]


def pull(runner: JobRunner, symbol: str, timeframe: str):  # type: ignore[no-untyped-def]
    return trigger(runner, TriggerRequest(symbol=symbol, timeframe=timeframe))


pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database


def _wait_until(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    wait_until(predicate, timeout=timeout, interval=0.02)


class Gate:
    """A body that reports progress, then waits until released (or cancelled)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        reporter.progress(0.25, "labeling 1/4")
        self.started.set()
        while not self.release.wait(0.02):
            if reporter.cancelled():
                raise JobCancelled("stop")
        reporter.progress(0.9, "training ensemble_bot 1/1")
        return JobEnd("succeeded", {"versions": [], "wall_s": 0.0})


def _runner(ctx: Context, **bodies: Any) -> JobRunner:
    return JobRunner(ctx, executor=ThreadExecutor(4), bodies=bodies)


def test_a_job_runs_reports_progress_and_frees_its_slot(ctx: Context) -> None:
    gate = Gate()
    runner = _runner(ctx, quick=gate)
    job = runner.submit(quick("INFY.NS", "5m"), requested_by="test")
    assert gate.started.wait(10)
    running = store.get_job(ctx.db, job.job_id)
    assert running.status == "running" and running.stage == "labeling 1/4" and running.progress == 0.25
    gate.release.set()
    runner.executor.wait(job.job_id, timeout=10)  # type: ignore[attr-defined]
    done = store.get_job(ctx.db, job.job_id)
    assert (
        done.status == "succeeded" and done.progress == 1.0 and done.result == {"versions": [], "wall_s": 0.0}
    )
    assert store.active_job(ctx.db, "INFY.NS", "5m") is None
    runner.shutdown()


def test_twenty_threads_triggering_one_pair_start_exactly_one_job(ctx: Context) -> None:
    gate = Gate()
    runner = _runner(ctx, quick=gate)
    barrier = threading.Barrier(20)
    results = []
    lock = threading.Lock()

    def hit() -> None:
        barrier.wait()
        outcome = pull(runner, "TCS.NS", "5m")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [r for r in results if r.started]
    assert len(started) == 1
    assert all(r.job_id == started[0].job_id for r in results)
    assert len(store.list_jobs(ctx.db)) == 1
    gate.release.set()
    runner.shutdown(wait=True)


def test_a_failing_job_records_its_error_and_others_carry_on(ctx: Context) -> None:
    def broken(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        reporter.progress(0.1, "labeling 0/50")
        raise BadInput("training on a label set with one class says so")

    def fine(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        return JobEnd("succeeded", {"ok": True})

    def crash(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        raise ZeroDivisionError("division by zero")

    runner = _runner(ctx, quick=broken, full=fine, manual=crash)
    a = runner.submit(quick("A", "1d"), requested_by="test")
    b = runner.submit(quick("B", "1d", "full"), requested_by="test")
    c = runner.submit(quick("C", "1d", "manual"), requested_by="test")
    runner.shutdown(wait=True)
    assert store.get_job(ctx.db, a.job_id).status == "failed"
    assert store.get_job(ctx.db, a.job_id).error == "training on a label set with one class says so"
    assert store.get_job(ctx.db, a.job_id).result["failure"] == "input"  # the trigger will not repeat it
    assert store.get_job(ctx.db, b.job_id).status == "succeeded"
    crashed = store.get_job(ctx.db, c.job_id)
    assert crashed.status == "failed" and crashed.error.startswith("ZeroDivisionError: division by zero")
    again = _runner(ctx, quick=fine).submit(quick("A", "1d"), requested_by="test")  # the slot is free
    assert again.job_id > c.job_id


def test_cancel_stops_a_running_job_between_stages_and_a_queued_one_at_once(ctx: Context) -> None:
    gate = Gate()
    runner = JobRunner(ctx, executor=ThreadExecutor(1), bodies={"quick": gate})
    first = runner.submit(quick("X", "5m"), requested_by="test")
    assert gate.started.wait(10)
    second = runner.submit(quick("Y", "5m"), requested_by="test")  # waits for the single worker
    assert store.get_job(ctx.db, second.job_id).status == "queued"
    assert runner.cancel(second.job_id).status == "cancelled"
    runner.cancel(first.job_id)
    runner.shutdown(wait=True)
    assert store.get_job(ctx.db, first.job_id).status == "cancelled"
    assert store.get_job(ctx.db, second.job_id).status == "cancelled"
    assert gate.release.is_set() is False  # it never got past the stage where it was stopped


def test_orphans_of_a_dead_process_become_interrupted(ctx: Context) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    job = store.create_job(ctx.db, quick("GOOG", "1d"), status="running")
    host = store.owner_tag().rpartition(":")[0]
    with ctx.db.session() as session:
        session.execute(
            update(TrainingJob).where(TrainingJob.id == job.job_id).values(owner=f"{host}:{dead_pid}")
        )
    alive = store.create_job(ctx.db, quick("INFY.NS", "5m"), status="running")  # owned by this process
    assert recover_orphans(ctx.db) == [job.job_id]
    view = store.get_job(ctx.db, job.job_id)
    assert view.status == "interrupted" and "stopped while it was running" in (view.error or "")
    assert store.get_job(ctx.db, alive.job_id).status == "running"
    # A silent job on another host is orphaned only after the heartbeat limit.
    with ctx.db.session() as session:
        session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == alive.job_id)
            .values(owner="elsewhere:1", heartbeat_at=utcnow() - timedelta(minutes=1))
        )
    assert recover_orphans(ctx.db) == []
    assert recover_orphans(ctx.db, now=utcnow() + timedelta(minutes=5)) == [alive.job_id]


def test_heartbeat_keeps_a_long_queued_job_alive(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.jobs.runner as runner_module

    monkeypatch.setattr(runner_module, "HEARTBEAT_SECONDS", 0.05)
    gate = Gate()
    runner = JobRunner(ctx, executor=ThreadExecutor(1), bodies={"quick": gate})
    runner.submit(quick("X", "5m"), requested_by="test")
    queued = runner.submit(quick("Y", "5m"), requested_by="test")
    assert gate.started.wait(10)
    before = store.get_job(ctx.db, queued.job_id)
    with ctx.db.read() as session:
        first_beat = session.get(TrainingJob, queued.job_id).heartbeat_at
    _wait_until(lambda: _beat(ctx, queued.job_id) > first_beat)
    assert before.status == "queued"
    gate.release.set()
    runner.shutdown(wait=True)


def _beat(ctx: Context, job_id: int):  # type: ignore[no-untyped-def]
    with ctx.db.read() as session:
        return session.get(TrainingJob, job_id).heartbeat_at


def test_worker_process_pid_is_recorded(ctx: Context) -> None:
    job = store.create_job(ctx.db, quick("GOOG", "1d"))
    assert store.get_job(ctx.db, job.job_id).status == "queued"
    with ctx.db.read() as session:
        assert session.get(TrainingJob, job.job_id).owner.endswith(f":{os.getpid()}")


def test_quick_training_widens_the_window_for_sparse_daily_bars(goog_ctx: Context) -> None:
    """14 days of daily bars are ten bars; the quick job asks for enough to label 50 points."""
    from core.data import supply

    supply.refresh_series(goog_ctx, "INFY.NS", "5m", provider="offline")
    seen: dict[str, dict[str, Any]] = {}

    def record(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        seen[job.symbol] = job.request
        return JobEnd()

    runner = _runner(goog_ctx, quick=record)
    assert pull(runner, "GOOG", "1d").started
    assert pull(runner, "INFY.NS", "5m").started
    runner.shutdown(wait=True)
    goog, infy = seen["GOOG"].labels, seen["INFY.NS"].labels
    assert 365 <= goog.lookback_days <= 400  # about 260 trading days
    assert infy.lookback_days == 14  # the original number already holds enough bars
    assert goog.samples == 50 and seen["GOOG"].bots == ("ensemble_bot", "lstm_bot")


def test_a_quick_job_that_failed_on_its_input_is_not_requeued_until_something_changes(
    goog_ctx: Context,
) -> None:
    """Visiting the chart again must not queue the same doomed job; new data, new settings or Retrain do."""
    calls: list[int] = []

    def doomed(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        calls.append(job.job_id)
        raise BadInput("the labeled window holds only one class (BUY 50); label a more varied window")

    runner = _runner(goog_ctx, quick=doomed)
    first = pull(runner, "GOOG", "1d")
    runner.wait(first.job_id, timeout=10)  # type: ignore[arg-type]
    again = pull(runner, "GOOG", "1d")
    assert (again.started, again.state, again.job_id) == (False, "failed_input", first.job_id)
    assert "only one class (BUY 50); label a more varied window" in again.reason  # the full error
    assert len(calls) == 1

    forced = trigger(runner, TriggerRequest(symbol="GOOG", timeframe="1d", force=True))  # "Retrain now"
    assert forced.started
    runner.wait(forced.job_id, timeout=10)  # type: ignore[arg-type]
    assert not pull(runner, "GOOG", "1d").started

    other = Context(goog_ctx.settings.model_copy(update={"quick_samples": 80}))  # a relevant setting changed
    changed = _runner(other, quick=doomed)
    retried = pull(changed, "GOOG", "1d")
    assert retried.started
    changed.wait(retried.job_id, timeout=10)  # type: ignore[arg-type]
    assert not pull(changed, "GOOG", "1d").started

    with other.db.read() as session:
        newest = bar_store.newest_bar_time(session, "GOOG", "1d")
    bar = pd.DataFrame(
        {"open": [800.0], "high": [805.0], "low": [795.0], "close": [802.0], "volume": [1_000_000.0]},
        index=pd.DatetimeIndex([newest + timedelta(days=3)], name="ts"),
    )
    with other.db.session() as session:  # new data for the pair
        bar_store.upsert_bars(session, "GOOG", "1d", bar, source="csv")
    assert pull(changed, "GOOG", "1d").started
    changed.shutdown(wait=True)
    runner.shutdown(wait=True)
    assert len(calls) == 4


def test_a_pair_is_fresh_after_its_newest_trained_version_live_or_not(ctx: Context) -> None:
    """A version the gate kept inactive still counts: no retraining (and paying for labels) every visit."""
    assert staleness(ctx, "TEST", "1d").stale
    version = add_version(ctx, symbol="TEST", timeframe="1d")
    assert not version.is_active
    fresh = staleness(ctx, "TEST", "1d")
    assert not fresh.stale and fresh.reason.startswith("newest model is 0.0 h old")
    ran: list[str] = []

    def body(ctx: Context, job: JobView, reporter: Reporter) -> JobEnd:
        ran.append(job.symbol)
        return JobEnd()

    runner = _runner(ctx, quick=body)
    result = pull(runner, "TEST", "1d")
    assert (result.started, result.state) == (False, "fresh") and result.reason.startswith("fresh: newest")
    discard_versions(ctx.db, [version.version_id], "its run was cancelled")
    assert staleness(ctx, "TEST", "1d").stale  # a run that never committed does not count
    runner.shutdown(wait=True)
    assert ran == []
