"""A Dask worker process's CandleLab state: the installation it serves, its engine, its children.

Each worker process builds its own engine (`worker_context`, one per process and installation)
from its own settings: its environment and `.env`, as any CandleLab process, optionally pointed
at an installation by the `CandleLabWorker` plugin (a client that shares one cluster between
installations does: the tests and `bench/scale.py`). Engines never travel: a task carries a job
id, and everything else is in the database.

Tasks never run a job body on a worker thread: `in_child` forks it from the worker's fork server
and supervises it (`core.jobs.supervisor`). **Workers must not be daemonic**
(`distributed.worker.daemon: False`, set by `make dask-worker`): a daemonic process may not start
child processes, and the hard stop needs one. The tasks themselves are in `core.jobs.dask_tasks`
(a whole job) and `core.jobs.dask_fanout` (a fanned-out job and its parts).
"""

from __future__ import annotations

import logging
import multiprocessing.forkserver
import threading
import time
from collections.abc import Callable
from typing import Any

from distributed import WorkerPlugin

from core.context import Context
from core.jobs import store
from core.jobs.bodyproc import ForkedBody, fork_context, may_fork
from core.jobs.supervisor import Supervision, watch
from core.settings import load_settings

log = logging.getLogger(__name__)

PLUGIN_NAME = "candlelab"
QUEUE_OWNER = "dask:"  # the owner of a job queued on a cluster (`store.hand_over`)
# Dask runs higher numbers first: the chart-view quick training goes ahead of the nightly batch.
# A job's parts run one above their job's kind, so jobs already started finish before new ones
# prepare (a batch progresses job by job instead of labeling everything first).
PRIORITIES = {"quick": 20, "manual": 10, "label": 10, "full": 0, "retrain": -10}
PART_PRIORITY_BOOST = 1
DAEMON_MESSAGE = (
    "this Dask worker is a daemonic process and cannot start the child process a CandleLab job "
    "runs in; start workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (`make dask-worker` does)"
)

_overrides: dict[str, str] = {}
_contexts: dict[tuple[tuple[str, str], ...], Context] = {}
_lock = threading.Lock()
_last_queue_beat = [0.0]  # per worker process, shared by its tasks


class CandleLabWorker(WorkerPlugin):
    """Points this cluster's workers at one installation (home, database, artifact store).

    Optional: a worker started with the installation's environment needs no plugin. Registering
    it again with other settings repoints every worker, the ones that join later too.
    """

    name = PLUGIN_NAME

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def setup(self, worker: Any) -> None:
        global _overrides
        if not may_fork():
            raise RuntimeError(DAEMON_MESSAGE)
        with _lock:
            _overrides = dict(self.overrides)
        fork_context()
        multiprocessing.forkserver.ensure_running()  # the fork server imports while we wait


def overrides() -> dict[str, str]:
    """The settings this worker's children get on top of the environment (the plugin's)."""
    with _lock:
        return dict(_overrides)


def worker_context() -> Context:
    """This worker process's engine for the installation it serves (built once, never pickled)."""
    if not may_fork():
        raise RuntimeError(DAEMON_MESSAGE)
    with _lock:
        key = tuple(sorted(_overrides.items()))
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _contexts[key] = Context.create(load_settings(**_overrides), migrate=False)
        return ctx


def supervision(ctx: Context, job_id: int, on_tick: Callable[[], None] | None = None) -> Supervision:
    beat = _queue_heartbeat(ctx)

    def tick() -> None:
        beat()
        if on_tick is not None:
            on_tick()

    return Supervision(ctx.db, job_id, ctx.settings.job_cancel_grace_s, on_tick=tick)


def _queue_heartbeat(ctx: Context) -> Callable[[], None]:
    """Jobs waiting in the cluster's queue have no process yet: running tasks keep them fresh.

    Each worker process tries every QUEUED_HEARTBEAT_S; the database writes a row only when its
    heartbeat is older than QUEUED_REFRESH_AFTER_S, so a big cluster writes each row once then.
    """

    def beat() -> None:
        with _lock:
            due = time.monotonic() - _last_queue_beat[0] >= store.QUEUED_HEARTBEAT_S
            if due:
                _last_queue_beat[0] = time.monotonic()
        if due:
            try:
                store.touch_queued(ctx.db, QUEUE_OWNER, older_than=store.QUEUED_REFRESH_AFTER_S)
            except Exception:  # a busy database must not end the supervision
                log.warning("refreshing queued jobs' heartbeat failed; will retry", exc_info=True)

    return beat


def in_child(
    ctx: Context, job_id: int, target: Callable[..., None], args: tuple[Any, ...]
) -> tuple[dict[str, Any] | None, int | None, bool]:
    """Fork `target(*args, conn)`, supervise it, and collect the one message it sends."""
    reader, writer = fork_context().Pipe(duplex=False)
    body = ForkedBody(target, *args, writer, name=f"candlelab-{target.__name__}-{job_id}")
    writer.close()
    received: list[dict[str, Any]] = []

    def drain() -> None:  # read while it runs: a large reply must not block the child's exit
        while not received and reader.poll():
            try:
                received.append(reader.recv())
            except EOFError:
                return

    code, stopped = watch(supervision(ctx, job_id, on_tick=drain), body)
    drain()
    reader.close()
    return (received[0] if received else None), code, stopped
