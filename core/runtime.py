"""A long-lived process's engine: its context, its job runner and (optionally) the scheduler.

The dashboard server builds one per database and keeps it for its lifetime; `python -m core
scheduler` builds one with the scheduler on. Jobs run on the runner's executor and report through
the database, so whoever reads job state (pages, the CLI) needs nothing from here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.context import Context
from core.data import store
from core.jobs.runner import JobRunner
from core.scheduling.scheduler import Scheduler
from core.scheduling.tasks import build_tasks
from core.services import data
from core.services.actors import Actor
from core.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["Engine", "JobRunner", "start_engine"]


@dataclass
class Engine:
    ctx: Context
    runner: JobRunner
    scheduler: Scheduler | None

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def scheduler_running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.runner.shutdown(wait=False)


def start_engine(settings: Settings, *, scheduler: bool, bootstrap: bool = False) -> Engine:
    """Context (schema at head), runner (recovering orphans), scheduler when asked; the demo data
    when `bootstrap` and the store is empty, so a fresh install opens on real charts."""
    ctx = Context.create(settings)
    if bootstrap:
        with ctx.db.read() as session:
            empty = not store.list_series(session)
        if empty:
            log.info("bar store is empty: loading the bundled demo data")
            data.bootstrap_demo(ctx, Actor.system("bootstrap"))
    runner = JobRunner(ctx)
    sched = Scheduler(ctx, runner, build_tasks(settings)) if scheduler else None
    if sched is not None:
        sched.start()
    return Engine(ctx, runner, sched)
