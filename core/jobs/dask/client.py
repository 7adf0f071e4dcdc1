"""The client side of the Dask executor (`JOB_EXECUTOR=dask`): jobs go to a cluster's workers.

`submit` hands the job's id to `core.jobs.dask.tasks.run_job_task` on the cluster, with the
kind's priority (the chart-view quick training ahead of the nightly batch) and `fire_and_forget`,
so the task lives on when the submitting process exits (`trigger` submits and returns). While a
job waits in the cluster's queue its row is owned by the queue (`dask:…`) and its heartbeat is
kept by the tasks that run; a queue left without workers for `ORPHAN_AFTER` lets recovery mark
its jobs `interrupted`. The job rows stay the source of truth: pages, the CLI and the scheduler
read them exactly as with the local executor.

Security: a scheduler reachable beyond loopback runs pickled code for any client that reaches
it. `cluster_security` builds Dask's TLS `Security` from DASK_TLS_CA_FILE, DASK_TLS_CERT and
DASK_TLS_KEY (mutual TLS: the scheduler and workers demand a certificate signed by that CA).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from distributed import Client, Future, fire_and_forget
from distributed import wait as wait_all
from distributed.security import Security

from core.context import Context
from core.db.sharing import is_loopback, require_shared_storage
from core.errors import BadInput, CandleLabError
from core.jobs import store
from core.jobs.dask.tasks import JobTicket, fail_unended, run_job_task
from core.jobs.dask.worker import PRIORITIES, QUEUE_OWNER
from core.jobs.recovery import ORPHAN_AFTER, recover_orphans
from core.jobs.runner import JobFn
from core.settings import Settings
from core.urls import redact_url

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 15.0
RECOVERY_POLL_S = 1.0


def cluster_security(settings: Settings) -> Security | None:
    """TLS from the settings, or None for a plain `tcp://` scheduler (loopback or a trusted network)."""
    files = {
        "DASK_TLS_CA_FILE": settings.dask_tls_ca_file,
        "DASK_TLS_CERT": settings.dask_tls_cert,
        "DASK_TLS_KEY": settings.dask_tls_key,
    }
    address = settings.dask_scheduler_address or ""
    if not any(files.values()):
        if address.startswith("tls://"):
            raise BadInput(
                f"{address} is a TLS scheduler: set DASK_TLS_CA_FILE, DASK_TLS_CERT and DASK_TLS_KEY"
            )
        return None
    missing = [name for name, path in files.items() if path is None]
    if missing:
        raise BadInput(
            f"Dask TLS needs all of DASK_TLS_CA_FILE, DASK_TLS_CERT, DASK_TLS_KEY; {missing[0]} is not set"
        )
    unreadable = [f"{name}={path}" for name, path in files.items() if not Path(str(path)).is_file()]
    if unreadable:
        raise BadInput(f"Dask TLS file not found: {unreadable[0]}")
    if address and not address.startswith("tls://"):
        raise BadInput(f"with Dask TLS configured, DASK_SCHEDULER_ADDRESS must be tls://…, not {address}")
    return Security(
        tls_ca_file=str(settings.dask_tls_ca_file),
        tls_client_cert=str(settings.dask_tls_cert),
        tls_client_key=str(settings.dask_tls_key),
        require_encryption=True,
    )


class DaskExecutor:
    detached = True

    def __init__(
        self, ctx: Context, client: Client, *, owns_client: bool = False, foreground: bool = False
    ) -> None:
        self.ctx, self.client, self.owns_client = ctx, client, owns_client
        self.foreground = foreground  # `submit` returns when the job has ended (the CLI waits)
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, ctx: Context, *, foreground: bool = False) -> DaskExecutor:
        """Connect to DASK_SCHEDULER_ADDRESS; the database and artifacts must be shared first."""
        settings = ctx.settings
        address = settings.dask_scheduler_address
        if not address:
            raise BadInput(
                "JOB_EXECUTOR=dask needs DASK_SCHEDULER_ADDRESS, e.g. tcp://127.0.0.1:8786 "
                "(start a scheduler with `make dask-scheduler` and workers with `make dask-worker`)"
            )
        require_shared_storage(settings)
        security = cluster_security(settings)
        if security is None and not is_loopback(address):
            log.warning(
                "the Dask scheduler %s is beyond loopback without TLS: anyone who reaches it "
                "can run code on its workers (set DASK_TLS_CA_FILE, DASK_TLS_CERT, DASK_TLS_KEY)",
                redact_url(address),
            )
        try:
            client = Client(address, security=security, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise CandleLabError(
                f"the Dask scheduler at {redact_url(address)} cannot be reached: {exc}"
            ) from None
        return cls(ctx, client, owns_client=True, foreground=foreground)

    def submit(self, job_id: int, run: JobFn) -> None:
        job = store.get_job(self.ctx.db, job_id)
        token = uuid.uuid4().hex[:10]
        store.hand_over(self.ctx.db, job_id, f"{QUEUE_OWNER}{token}")
        future = self.client.submit(
            run_job_task,
            job_id,
            JobTicket.of(job),
            key=f"candlelab-job-{job_id}-{token}",
            priority=PRIORITIES.get(job.kind, 0),
            pure=False,
            retries=0,
        )
        fire_and_forget(future)  # the task must outlive this client (`trigger` exits at once)
        future.add_done_callback(lambda f: self._ended(job_id, f))
        with self._lock:
            self._futures[job_id] = future
        log.info("job %d submitted to the Dask cluster as %s", job_id, future.key)
        if self.foreground:
            self.wait(job_id)

    def _ended(self, job_id: int, future: Future) -> None:
        with self._lock:
            self._futures.pop(job_id, None)
        if future.status != "error":
            return
        exc = future.exception()
        log.warning("the Dask task of job %d failed: %r", job_id, exc)
        # A task that never started the job's body (a lost worker, an import error there) ends the
        # job here, at once; a body that was running is its process's to end, or recovery's
        # (`interrupted`, with the truth about what it activated).
        try:
            if store.get_job(self.ctx.db, job_id).status == "queued":
                fail_unended(self.ctx, job_id, exc)
        except Exception:
            log.exception("could not record the end of job %d after its Dask task failed", job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until the job has ended (the CLI's foreground commands on a cluster use this).

        Ctrl-C asks the job to stop. A task lost with its worker leaves the job for recovery,
        which this call waits for (the row, not the task, says how the job ended).
        """
        with self._lock:
            future = self._futures.get(job_id)
        if future is None:
            return
        try:
            future.result(timeout=timeout)
        except KeyboardInterrupt:
            store.request_cancel(self.ctx.db, job_id)
            raise
        except TimeoutError:
            raise
        except Exception as exc:
            log.warning("the Dask task of job %d ended with %r; waiting for recovery", job_id, exc)
            self._await_recovery(job_id)

    def _await_recovery(self, job_id: int) -> None:
        deadline = time.monotonic() + (ORPHAN_AFTER + timedelta(seconds=30)).total_seconds()
        while time.monotonic() < deadline and store.get_job(self.ctx.db, job_id).active:
            recover_orphans(self.ctx.db)
            time.sleep(RECOVERY_POLL_S)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._futures)

    def shutdown(self, wait: bool = False) -> None:
        """Close the connection; submitted tasks carry on (`fire_and_forget`) unless `wait`."""
        if wait:
            with self._lock:
                futures: list[Any] = list(self._futures.values())
            wait_all(futures)
        if self.owns_client:
            self.client.close()
