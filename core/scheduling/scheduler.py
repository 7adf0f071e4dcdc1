"""The scheduler: daily retraining, paper-trading ticks and staleness sweeps (APScheduler).

Every task fires on wall-clock-aligned cron times, so the dashboard's scheduler and a separate
`python -m core scheduler` fire for the same slot; whichever claims the slot's row in
`scheduled_runs` first runs it and the other skips. APScheduler's own `max_instances=1` and
coalesced misfires keep a slow task from piling up inside one process.

A daily slot missed while no scheduler ran (a restart across 03:00) is run once when a
scheduler starts: the most recent slot of each daily task without a row in `scheduled_runs` is
fired at start-up, and the slot's unique row still lets only one process run it. Shorter tasks
(paper ticks, staleness sweeps) simply fire at their next slot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from core.context import Context
from core.db import scheduled_runs
from core.db.types import utcnow
from core.jobs.recovery import recover_orphans
from core.jobs.runner import JobRunner
from core.jobs.store import owner_tag

log = logging.getLogger(__name__)

TaskFn = Callable[[Context, JobRunner], str]


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    trigger: CronTrigger
    period: timedelta  # the spacing of fire times; slots are fire times floored to it
    fn: TaskFn
    enabled: bool = True


def slot_of(task: Task, moment: datetime) -> str:
    """The fire time a moment belongs to; equal in every process that fires for it."""
    if task.period >= timedelta(days=1):
        fire = task.trigger.get_next_fire_time(None, moment - task.period + timedelta(seconds=1))
        return (fire or moment).astimezone(UTC).isoformat(timespec="minutes")
    epoch = moment.astimezone(UTC).timestamp()
    step = task.period.total_seconds()
    return datetime.fromtimestamp(epoch - epoch % step, UTC).isoformat(timespec="minutes")


def claim(ctx: Context, task: Task, slot: str) -> int | None:
    """Insert the (task, slot) row; None when another process already has it."""
    return scheduled_runs.claim(ctx.db, task.name, slot, owner_tag())


def _finish(ctx: Context, run_id: int, status: str, message: str) -> None:
    scheduled_runs.finish(ctx.db, run_id, status, message)


def run_task(ctx: Context, runner: JobRunner, task: Task, now: datetime | None = None) -> str | None:
    """Run one firing of a task unless another process claimed the slot. Never raises."""
    slot = slot_of(task, now or utcnow())
    recover_orphans(ctx.db)  # a tick starts work: close what dead processes left running first
    run_id = claim(ctx, task, slot)
    if run_id is None:
        log.info("scheduled %s for %s already taken by another process", task.name, slot)
        return None
    try:
        message = task.fn(ctx, runner)
    except Exception as exc:  # one failing firing must not stop the scheduler
        log.exception("scheduled %s for %s failed", task.name, slot)
        _finish(ctx, run_id, "failed", f"{type(exc).__name__}: {exc}")
        return None
    _finish(ctx, run_id, "succeeded", message)
    log.info("scheduled %s for %s: %s", task.name, slot, message)
    return message


def missed(ctx: Context, tasks: list[Task], now: datetime | None = None) -> list[Task]:
    """Daily tasks whose most recent slot has no run recorded by any process."""
    now = now or utcnow()
    out = []
    for task in (t for t in tasks if t.period >= timedelta(days=1)):
        if not scheduled_runs.was_claimed(ctx.db, task.name, slot_of(task, now)):
            out.append(task)
    return out


class Scheduler:
    """Owns an APScheduler `BackgroundScheduler` running CandleLab's tasks."""

    def __init__(self, ctx: Context, runner: JobRunner, tasks: list[Task]) -> None:
        self.ctx = ctx
        self.runner = runner
        self.tasks = [t for t in tasks if t.enabled]
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60},
        )
        for task in self.tasks:
            self._scheduler.add_job(
                run_task, task.trigger, args=(ctx, runner, task), id=task.name, name=task.description
            )
        self._started = threading.Event()

    def start(self) -> None:
        if not self._started.is_set():
            self._scheduler.start()
            self._started.set()
            log.info("scheduler started: %s", ", ".join(t.name for t in self.tasks) or "no tasks enabled")
            for task in missed(self.ctx, self.tasks):
                log.info(
                    "scheduled %s missed its last slot while no scheduler ran: running it now", task.name
                )
                self._scheduler.add_job(
                    run_task, args=(self.ctx, self.runner, task), id=f"{task.name}-missed"
                )

    def shutdown(self) -> None:
        if self._started.is_set():
            self._scheduler.shutdown(wait=False)
            self._started.clear()

    @property
    def running(self) -> bool:
        return self._started.is_set()
