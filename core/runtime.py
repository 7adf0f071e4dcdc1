"""A long-lived process's engine: its context, its job runner and (optionally) the scheduler.

The dashboard server builds one per database and keeps it for its lifetime; `python -m core
scheduler` builds one with the scheduler on. Jobs run on the runner's executor and report through
the database, so whoever reads job state (pages, the CLI) needs nothing from here.

Which executor a process gets is decided here, by configuration (`JOB_EXECUTOR`) and by what the
process is (`make_executor`):

- `local` (default): foreground commands (`train`, `label`, `retrain`) run the job in their own
  process and wait; background work (the dashboard, the scheduler) runs in supervised worker
  processes, JOB_WORKERS at a time (`ProcessPool`); `trigger` starts one detached process.
- `dask`: every job body runs on a Dask worker; foreground commands wait for it, `trigger`
  submits with `fire_and_forget` and returns.

Background work never runs on threads of the process that asked for it: a Streamlit server that
trains on its own threads shares the GIL and the cores with page rendering. `make run` still needs
nothing but Python: the local executor's workers are plain `python -m core jobs run` processes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

from core.context import Context
from core.data import store
from core.errors import BadInput
from core.jobs.installation import installation_env
from core.jobs.local.executors import SubprocessExecutor
from core.jobs.local.process_pool import ProcessPool
from core.jobs.runner import Executor, ForegroundExecutor, JobRunner
from core.scheduling.scheduler import Scheduler
from core.scheduling.tasks import build_tasks
from core.services import data
from core.services.actors import Actor
from core.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["Engine", "JobRunner", "make_executor", "start_engine"]

Mode = Literal["foreground", "background", "detached"]


def make_executor(ctx: Context, mode: Mode) -> Executor:
    settings = ctx.settings
    if settings.job_executor == "dask":
        return dask_executor(ctx, foreground=mode == "foreground")
    if mode == "foreground":
        return ForegroundExecutor()
    env = installation_env(settings)
    if mode == "detached":
        return SubprocessExecutor(settings.logs_dir, env=env)
    env |= beside_pages_env(settings, os.cpu_count() or 1)
    return ProcessPool(
        ctx.db, settings.logs_dir, workers=settings.job_workers, grace_s=settings.job_cancel_grace_s, env=env
    )


def beside_pages_env(settings: Settings, cores: int) -> dict[str, str]:
    """Background jobs run beside the pages the dashboard serves: unless TRAINING_THREADS is set,
    a job takes at most one core fewer than the machine has.

    Why: on 2 cores a job's two PyTorch threads, though reniced, are preempted by the browser in
    turn and wait for each other at every step. Measured with `bench/dashboard_responsiveness.py`
    (LSTM training in the background): with two threads a chart's cold load took ×1.24-1.50 as
    long in three runs of seven; with one, ×1.02 and ×1.17, and the job itself got further in the
    same time (76 % against 56 %)."""
    if "training_threads" in settings.model_fields_set:
        return {}
    return {"TRAINING_THREADS": str(max(1, min(settings.training_threads, cores - 1)))}


def dask_executor(ctx: Context, *, foreground: bool = False) -> Executor:
    """The Dask executor. `distributed` is an optional dependency (the `dask` extra) and slow to
    import, so it is imported here, only by processes configured for it."""
    try:
        from core.jobs.dask.client import DaskExecutor
    except ModuleNotFoundError as exc:
        if exc.name not in ("distributed", "dask"):
            raise
        raise BadInput(
            "JOB_EXECUTOR=dask needs Dask's `distributed` package: pip install -e '.[dask]' "
            "(or `make install EXTRAS=dask`)"
        ) from None
    return DaskExecutor.connect(ctx, foreground=foreground)


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
        empty = not store.list_pairs(ctx.db)
        if empty:
            log.info("bar store is empty: loading the bundled demo data")
            data.bootstrap_demo(ctx, Actor.system("bootstrap"))
    runner = JobRunner(ctx, make_executor(ctx, "background"))
    sched = Scheduler(ctx, runner, build_tasks(settings)) if scheduler else None
    if sched is not None:
        sched.start()
    return Engine(ctx, runner, sched)
