"""Scheduled tasks fire on aligned slots and run once per slot across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from core.context import Context
from core.db import scheduled_runs
from core.db.models import ScheduledRun
from core.jobs.local.executors import ThreadExecutor
from core.jobs.runner import JobRunner
from core.scheduling.scheduler import Task, run_task, slot_of
from core.scheduling.tasks import build_tasks, plan, watched_pairs
from tests.conftest import REPO, make_settings

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database


def _task(fn, minutes: int = 5) -> Task:  # type: ignore[no-untyped-def]
    return Task(
        "probe", "test", CronTrigger(minute=f"*/{minutes}", timezone=UTC), timedelta(minutes=minutes), fn
    )


def test_slots_are_aligned_fire_times() -> None:
    task = _task(lambda c, r: "x")
    assert slot_of(task, datetime(2026, 1, 5, 3, 7, 59, tzinfo=UTC)) == "2026-01-05T03:05+00:00"
    assert slot_of(task, datetime(2026, 1, 5, 3, 9, 59, tzinfo=UTC)) == "2026-01-05T03:05+00:00"
    daily = build_tasks(make_settings(Path("/tmp"), qt_ai_retraining_enabled=True))[0]
    assert slot_of(daily, datetime(2026, 1, 5, 3, 0, 2, tzinfo=UTC)) == "2026-01-05T03:00+00:00"
    assert slot_of(daily, datetime(2026, 1, 5, 2, 59, tzinfo=UTC)) == "2026-01-04T03:00+00:00"


def test_a_slot_runs_once_and_a_failure_is_recorded(ctx: Context) -> None:
    calls = []
    runner = JobRunner(ctx, executor=ThreadExecutor(1), bodies={})
    task = _task(lambda c, r: calls.append(1) or "ran")
    now = datetime(2026, 1, 5, 3, 6, tzinfo=UTC)
    assert run_task(ctx, runner, task, now) == "ran"
    assert run_task(ctx, runner, task, now + timedelta(minutes=2)) is None  # same slot
    assert run_task(ctx, runner, task, now + timedelta(minutes=5)) == "ran"
    assert len(calls) == 2

    def boom(c, r):  # type: ignore[no-untyped-def]
        raise RuntimeError("provider down")

    assert run_task(ctx, runner, Task("boom", "x", task.trigger, task.period, boom), now) is None
    with ctx.db.read() as session:
        row = session.scalar(select(ScheduledRun).where(ScheduledRun.name == "boom"))
    assert row.status == "failed" and "provider down" in row.message
    runner.shutdown()


def test_two_processes_firing_the_same_slot_run_it_once(ctx: Context, home: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import UTC, datetime
        from core.context import Context
        from core.jobs.local.executors import ThreadExecutor
        from core.jobs.runner import JobRunner
        from core.scheduling.scheduler import run_task
        from tests.scheduling.test_scheduler import _task
        from tests.conftest import make_settings
        from pathlib import Path
        ctx = Context.create(make_settings(Path({str(home)!r})), logs=False)
        runner = JobRunner(ctx, executor=ThreadExecutor(1), bodies={{}})
        task = _task(lambda c, r: "ran by " + sys.argv[1])
        out = run_task(ctx, runner, task, datetime(2026, 1, 5, 3, 6, tzinfo=UTC))
        print(out)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(i)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for i in range(6)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert sum(o.startswith("ran by") for o in outputs) == 1, outputs
    with ctx.db.read() as session:
        assert len(session.scalars(select(ScheduledRun)).all()) == 1


def test_plan_shows_daily_retrain_at_three_utc_only_when_enabled(home: Path) -> None:
    now = datetime(2026, 1, 5, 12, 1, tzinfo=UTC)
    off = {row["task"]: row for row in plan(make_settings(home), now)}
    assert off["daily_retrain"]["enabled"] is False and off["daily_retrain"]["next_run"] is None
    on = {row["task"]: row for row in plan(make_settings(home, qt_ai_retraining_enabled=True), now)}
    assert on["daily_retrain"]["next_run"] == datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
    assert on["paper_tick"]["next_run"] == datetime(2026, 1, 5, 12, 5, tzinfo=UTC)
    assert on["staleness_sweep"]["next_run"] == datetime(2026, 1, 5, 12, 15, tzinfo=UTC)


def test_watchlist_parsing_skips_bad_entries(home: Path) -> None:
    settings = make_settings(home, watchlist=["goog:1d", "INFY.NS:5m", "BAD:7m", "TCS.NS"])
    assert watched_pairs(settings) == [("GOOG", "1d"), ("INFY.NS", "5m"), ("TCS.NS", "1d")]


def test_the_scheduled_runs_store_lets_one_claim_a_slot_and_records_its_end(ctx: Context) -> None:
    run_id = scheduled_runs.claim(ctx.db, "nightly", "2026-01-05T03:00+00:00", "host-a:1")
    assert run_id is not None
    assert scheduled_runs.claim(ctx.db, "nightly", "2026-01-05T03:00+00:00", "host-b:2") is None
    assert scheduled_runs.was_claimed(ctx.db, "nightly", "2026-01-05T03:00+00:00")
    assert not scheduled_runs.was_claimed(ctx.db, "nightly", "2026-01-06T03:00+00:00")
    scheduled_runs.finish(ctx.db, run_id, "succeeded", "x" * 3000)
    with ctx.db.read() as session:
        row = session.get(ScheduledRun, run_id)
    assert (row.owner, row.status, len(row.message)) == ("host-a:1", "succeeded", 2000)
    assert row.finished_at is not None
