"""A scheduler restart across the nightly slot runs the missed slot once, whoever restarts."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from core.context import Context
from core.db.models import ScheduledRun
from core.db.types import utcnow
from core.jobs.local.executors import ThreadExecutor
from core.jobs.runner import JobRunner
from core.scheduling.scheduler import Scheduler, Task, missed


def _nightly(calls: list[str]) -> Task:
    """A daily task whose slot passed an hour ago (as 03:00 has for a scheduler started at 04:00)."""
    fired = utcnow() - timedelta(hours=1)
    trigger = CronTrigger(hour=fired.hour, minute=fired.minute, timezone=UTC)
    return Task(
        "nightly", "a nightly task", trigger, timedelta(days=1), lambda c, r: calls.append("ran") or "ran"
    )


def test_a_missed_nightly_slot_runs_once_across_restarts(ctx: Context) -> None:
    calls: list[str] = []
    runner = JobRunner(ctx, executor=ThreadExecutor(1), bodies={})
    assert [t.name for t in missed(ctx, [_nightly(calls)])] == ["nightly"]
    for _restart in range(3):  # three schedulers start one after another (or side by side)
        scheduler = Scheduler(ctx, runner, [_nightly(calls)])
        scheduler.start()
        deadline = time.monotonic() + 20
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        scheduler.shutdown()
    assert calls == ["ran"]
    with ctx.db.read() as session:
        (run,) = session.scalars(select(ScheduledRun).where(ScheduledRun.name == "nightly")).all()
    assert run.status == "succeeded"
    assert missed(ctx, [_nightly(calls)]) == []
    runner.shutdown()
