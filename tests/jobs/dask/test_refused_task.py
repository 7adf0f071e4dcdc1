"""A Dask task that fails before its job's body starts ends the job `failed`, with the worker's reason.

A real cluster of its own whose worker is daemonic (started without
DASK_DISTRIBUTED__WORKER__DAEMON=False): it may not start the child process a job body runs in,
so it refuses the task. The job must not wait `queued` forever with the reason only in the
worker's log: within 10 s it ends `failed`, and `jobs` says why.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import dask
import pytest
from distributed import Client, LocalCluster

from core.context import Context
from core.jobs import store
from core.jobs.dask.client import DaskExecutor
from core.jobs.runner import JobRunner
from core.requests import LabelingRequest
from tests.jobs.dask.conftest import _PYTEST_MAIN
from tests.support.servers import wait_until


def _ended(ctx: Context, job_id: int) -> store.JobView | None:
    job = store.get_job(ctx.db, job_id)
    return None if job.active else job


@pytest.fixture
def daemonic_client() -> Iterator[Client]:
    sys.modules["__main__"] = _PYTEST_MAIN
    config = {"distributed.worker.daemon": True, "distributed.scheduler.allowed-failures": 0}
    with (
        dask.config.set(config),
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        client.wait_for_workers(1, timeout=120)
        yield client


def test_a_refused_task_ends_its_job_failed_with_the_workers_reason(
    gbpusd: Context, daemonic_client: Client, cli
) -> None:  # type: ignore[no-untyped-def]
    # No worker plugin: CandleLab's own refuses to set up on a daemonic worker; the task then
    # meets the same refusal when it starts, which is the case under test.
    runner = JobRunner(gbpusd, executor=DaskExecutor(gbpusd, daemonic_client))
    try:
        request = LabelingRequest(symbol="GBPUSD", timeframe="1d", labeler="rules", samples=20)
        submitted = time.monotonic()
        job = runner.submit(request, requested_by="test")
        ended = wait_until(
            lambda: _ended(gbpusd, job.job_id),
            timeout=60,
            message=lambda: str(store.get_job(gbpusd.db, job.job_id)),
        )
        took = time.monotonic() - submitted
    finally:
        runner.shutdown()
    assert ended.status == "failed" and took <= 10, (ended.status, took, ended.error)
    assert "daemonic" in (ended.error or "") and "DASK_DISTRIBUTED__WORKER__DAEMON=False" in (
        ended.error or ""
    )
    listed = cli("jobs", "--json").json()["jobs"][0]
    assert listed["status"] == "failed" and "daemonic" in listed["error"]
    assert {"status", "progress", "stage"} <= set(listed)
