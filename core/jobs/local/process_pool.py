"""Background jobs of a long-lived process (the dashboard, the scheduler) without a cluster.

Each job runs in a worker process of its own (`python -m core jobs run ID`, reniced by JOB_NICE),
never on a thread of the process that asked: a Streamlit server that trains on its own threads
shares the GIL and the cores with page rendering. At most JOB_WORKERS of them run at once; the
others wait as `queued` rows whose heartbeat this pool keeps. A light thread per running job
supervises it (`core.jobs.supervisor`): the hard stop when a cancel is not honoured within
JOB_CANCEL_GRACE_S, and `interrupted` at once when the process dies without recording an end.
The processes are detached: a job carries on if this process stops, and its own heartbeat tells.
"""

from __future__ import annotations

import collections
import logging
import threading
from pathlib import Path

from core.db.database import Database
from core.jobs import store
from core.jobs.local.spawn import SpawnedProcess
from core.jobs.runner import JobFn
from core.jobs.supervisor import Supervision, supervise

log = logging.getLogger(__name__)


class ProcessPool:
    detached = True  # each process keeps its own job's heartbeat once it runs

    def __init__(
        self, db: Database, log_dir: Path, *, workers: int, grace_s: float, env: dict[str, str] | None = None
    ) -> None:
        self.db, self.log_dir, self.env = db, log_dir, dict(env or {})
        self.workers, self.grace_s = workers, grace_s
        self._pending: collections.deque[int] = collections.deque()
        self._running: set[int] = set()
        self._ended: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._keep_queued_alive, name="candlelab-pool-beat", daemon=True)
        self._beat.start()

    def submit(self, job_id: int, run: JobFn) -> None:
        with self._lock:
            self._ended[job_id] = threading.Event()
            self._pending.append(job_id)
        self._dispatch()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if not self._pending or len(self._running) >= self.workers:
                    return
                job_id = self._pending.popleft()
                self._running.add(job_id)
            threading.Thread(
                target=self._run, args=(job_id,), name=f"candlelab-watch-{job_id}", daemon=True
            ).start()

    def _run(self, job_id: int) -> None:
        try:
            if store.get_job(self.db, job_id).status == "queued":  # not cancelled while it waited
                process = SpawnedProcess(job_id, self.log_dir, self.env)
                log.info("job %d handed to worker process %d", job_id, process.pid)
                supervise(Supervision(self.db, job_id, self.grace_s), process)
        except Exception:
            log.exception("supervising job %d failed", job_id)
        finally:
            with self._lock:
                self._running.discard(job_id)
                ended = self._ended.pop(job_id, None)
            if ended is not None:
                ended.set()
            self._dispatch()

    def _keep_queued_alive(self) -> None:
        """Jobs waiting for a free worker have no process yet: their heartbeat comes from here."""
        while not self._stop.wait(store.QUEUED_HEARTBEAT_S):
            with self._lock:
                waiting = bool(self._pending)
            if waiting:
                try:
                    store.touch_queued(self.db, store.owner_tag(), older_than=store.QUEUED_REFRESH_AFTER_S)
                except Exception:  # a busy database must not end the heartbeat
                    log.warning("refreshing queued jobs' heartbeat failed; will retry", exc_info=True)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._running)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until a job submitted here has ended (its process exited and was accounted for)."""
        with self._lock:
            ended = self._ended.get(job_id)
        if ended is not None:
            ended.wait(timeout)

    def shutdown(self, wait: bool = False) -> None:
        """Running processes carry on; waiting jobs are left queued for recovery unless `wait`."""
        if wait:
            with self._lock:
                events = list(self._ended.values())
            for event in events:
                event.wait()
        self._stop.set()
