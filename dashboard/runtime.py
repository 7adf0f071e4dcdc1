"""The one process-level runtime of the dashboard: the engine (context, job runner, scheduler).

`st.cache_resource` keeps a single `Runtime` per database for the life of the server process, so
every session shares one job runner and one scheduler; jobs run in worker processes of their own
(or on a Dask cluster) and report through the database, never through Streamlit calls. Pages
change state only through `core.services`, as `Runtime.actor`: the signed-in user (or the local
admin) of the browser session the page runs for, set by `dashboard.signin` on every run.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.context import Context
from core.runtime import Engine, JobRunner, start_engine
from core.services.actors import Actor
from core.settings import Settings, load_settings
from dashboard import session

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    engine: Engine

    @property
    def actor(self) -> Actor:
        """Who the current browser session acts as (the runtime itself is shared by all)."""
        actor = session.ACTOR.get()
        if actor is None:
            raise RuntimeError("no actor for this session: dashboard/app.py decides it before any page")
        return actor

    @property
    def ctx(self) -> Context:
        return self.engine.ctx

    @property
    def runner(self) -> JobRunner:
        return self.engine.runner

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def scheduler_running(self) -> bool:
        return self.engine.scheduler_running

    def shutdown(self) -> None:
        self.engine.shutdown()


def _release(runtime: Runtime) -> None:
    runtime.shutdown()


@st.cache_resource(show_spinner="Starting CandleLab…", on_release=_release)
def _runtime_for(db_url: str, _settings: Settings) -> Runtime:
    engine = start_engine(_settings, scheduler=_settings.dashboard_scheduler, bootstrap=True)
    # What is alive now (modules, the engine) lives as long as the process: kept out of the
    # collector's full passes, which then walk only what page runs allocate.
    gc.freeze()
    log.info(
        "dashboard runtime started for %s (scheduler %s)",
        engine.ctx.db.url.split("///")[-1],
        "on" if engine.scheduler else "off",
    )
    return Runtime(engine)


@functools.lru_cache(maxsize=8)
def _settings_for(environment: frozenset[tuple[str, str]], cwd: str, dotenv: int | None) -> Settings:
    return load_settings()


def _settings() -> Settings:
    """Settings for the current environment, working directory and `.env`: read again whenever one
    of them changes (a test pointing CANDLELAB_HOME elsewhere gets its own runtime), else reused,
    as building them costs tens of milliseconds and every page run asks twice."""
    try:
        dotenv: int | None = Path(".env").stat().st_mtime_ns
    except OSError:
        dotenv = None
    return _settings_for(frozenset(os.environ.items()), os.getcwd(), dotenv)


def runtime() -> Runtime:
    """The shared runtime for the database the environment points at (one per process and database)."""
    settings = _settings()
    return _runtime_for(settings.db_url, settings)
