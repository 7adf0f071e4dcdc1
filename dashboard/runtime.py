"""The one process-level runtime of the dashboard: context, job runner, scheduler.

`st.cache_resource` keeps a single `Runtime` per database for the life of the server process, so
every session shares one job runner (one worker pool, one heartbeat) and one scheduler; jobs run
on the runner's threads and report through the database, never through Streamlit calls.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core.context import Context
from core.data import service, store
from core.jobs.runner import JobRunner
from core.scheduling.scheduler import Scheduler
from core.scheduling.tasks import build_tasks
from core.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    ctx: Context
    runner: JobRunner
    scheduler: Scheduler | None
    # Label-only runs from the Labels page: not training jobs, but just as off the script thread.
    labeling: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="candlelab-label")
    )
    _labeling_futures: list[Future[Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def scheduler_running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def submit_labeling(self, symbol: str, timeframe: str, **options: Any) -> None:
        from core.labeling.service import run_labeling

        ctx = self.ctx.for_llm_provider(options.pop("llm_provider", None))

        def work() -> None:
            try:
                run_labeling(ctx, symbol, timeframe, **options)
            except Exception:  # the label set records how it ended; the log keeps the trace
                log.exception("labeling %s %s from the dashboard failed", symbol, timeframe)

        with self._lock:
            self._labeling_futures = [f for f in self._labeling_futures if not f.done()]
            self._labeling_futures.append(self.labeling.submit(work))

    def labeling_busy(self) -> bool:
        with self._lock:
            return any(not f.done() for f in self._labeling_futures)

    def shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.runner.shutdown(wait=False)
        self.labeling.shutdown(wait=False, cancel_futures=True)


def _bootstrap_if_empty(ctx: Context) -> None:
    """A fresh install opens on real charts: load the bundled demo set once when the store is empty."""
    with ctx.db.read() as session:
        empty = not store.list_series(session)
    if empty:
        log.info("bar store is empty: loading the bundled demo data")
        service.bootstrap_demo(ctx)


def _release(runtime: Runtime) -> None:
    runtime.shutdown()


@st.cache_resource(show_spinner="Starting CandleLab…", on_release=_release)
def _runtime_for(db_url: str, _settings: Settings) -> Runtime:
    ctx = Context.create(_settings)
    _bootstrap_if_empty(ctx)
    runner = JobRunner(ctx)
    scheduler = None
    if _settings.dashboard_scheduler:
        scheduler = Scheduler(ctx, runner, build_tasks(_settings))
        scheduler.start()
    log.info(
        "dashboard runtime started for %s (scheduler %s)",
        ctx.db.url.split("///")[-1],
        "on" if scheduler else "off",
    )
    return Runtime(ctx, runner, scheduler)


def runtime() -> Runtime:
    """The shared runtime for the database the environment points at (one per process and database).

    Settings are read fresh on each call (cheap) so a test that points CANDLELAB_HOME elsewhere
    gets its own runtime rather than the first one created in the process.
    """
    settings = load_settings()
    return _runtime_for(settings.db_url, settings)
