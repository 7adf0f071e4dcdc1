"""A Dask worker process's CandleLab state: the installation it serves, its engine, its children.

Each worker process builds its own engine (`worker_context`, one per process and installation)
from its own settings: its environment and `.env`, as any CandleLab process, optionally pointed
at an installation by the `CandleLabWorker` plugin (a client that shares one cluster between
installations does: the tests and `bench/scale.py`). Engines never travel: a task carries a job
id, and everything else is in the database.

Tasks never run a job body on a worker thread: `in_child` forks it from the worker's fork server
(`ForkedProcess`) and supervises it (`core.jobs.supervisor`). The fork server imports the training
stack once per worker (`FORK_PRELOAD`), so a task starts in milliseconds instead of paying the
seconds an interpreter needs to import PyTorch and XGBoost. Forking from that single-threaded
server, never from the multi-threaded worker, keeps fork safe. The child ends itself when its
worker dies (`exit_with_parent`), which is what lets recovery find the job. **Workers must not be
daemonic** (`distributed.worker.daemon: False`, set by `make dask-worker`): a daemonic process
may not start child processes, and the hard stop needs one. The tasks themselves are in
`core.jobs.dask.tasks`; what runs inside the children is in `core.jobs.dask.child`.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from distributed import WorkerPlugin

from core.context import Context
from core.jobs import store
from core.jobs.supervisor import PARENT_GONE_EXIT, STOP_WAIT_S, Supervision, watch
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

# What a fork server imports before it forks any child: the job layer with the training stack
# (PyTorch, XGBoost, pandas) and the Dask worker's own main module's imports.
FORK_PRELOAD = ["__main__", "distributed", "core.jobs.dask.child", "core.bots.sequence", "xgboost"]

_fork_lock = threading.Lock()
_fork_context: Any = None
_overrides: dict[str, str] = {}
_contexts: dict[tuple[tuple[str, str], ...], Context] = {}
_lock = threading.Lock()
_last_queue_beat = [0.0]  # per worker process, shared by its tasks


def fork_context() -> Any:
    """This process's fork server context, configured once (the server starts on first use)."""
    global _fork_context
    with _fork_lock:
        if _fork_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(FORK_PRELOAD)
            _fork_context = context
        return _fork_context


class ForkedProcess:
    """`target(*args)` in a child of this process's fork server."""

    def __init__(self, target: Callable[..., None], *args: Any, name: str = "candlelab-body") -> None:
        self.process = fork_context().Process(target=target, args=args, name=name)
        self.process.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def wait(self, timeout: float) -> int | None:
        self.process.join(timeout)
        return self.process.exitcode

    def stop(self) -> int | None:
        self.process.terminate()
        code = self.wait(STOP_WAIT_S)
        if code is None:
            self.process.kill()
            code = self.wait(STOP_WAIT_S)
        return code


def may_fork() -> bool:
    """Whether this process may start `ForkedProcess` children (a daemonic process may not)."""
    return not multiprocessing.current_process().daemon


def exit_with_parent() -> None:
    """In a forked child: end this process at once when the process that started it dies.

    The job row stays `running` with this process as its owner; recovery sees the owner gone (or
    its heartbeat silent, from another machine) and marks it `interrupted`, discarding what the
    job registered. Exiting without a word is deliberate: writing from this thread could race
    the main thread's commit.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch_parent() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(PARENT_GONE_EXIT)

    threading.Thread(target=watch_parent, name="candlelab-parent-watch", daemon=True).start()


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
    process = ForkedProcess(target, *args, writer, name=f"candlelab-{target.__name__}-{job_id}")
    writer.close()
    received: list[dict[str, Any]] = []

    def drain() -> None:  # read while it runs: a large reply must not block the child's exit
        while not received and reader.poll():
            try:
                received.append(reader.recv())
            except EOFError:
                return

    code, stopped = watch(supervision(ctx, job_id, on_tick=drain), process)
    drain()
    reader.close()
    return (received[0] if received else None), code, stopped
