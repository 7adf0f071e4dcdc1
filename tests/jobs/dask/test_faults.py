"""Faults on a real Dask cluster: a cancel that ends a job's processes after the grace, and a
worker killed mid-job. Runs after the other scale tests: a killed worker is restarted by its nanny."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from distributed import Client
from sqlalchemy import select

from core.context import Context
from core.db.models import ModelTrainingRecord
from core.jobs import store
from core.jobs.recovery import recover_orphans
from core.jobs.runner import JobRunner
from tests.jobs.dask.conftest import Attach
from tests.jobs.helpers import job_owner, training, versions_of, wait_ended, wait_stage
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow

# A sequence bot that trains long enough to be caught in the middle of it.
LONG_LSTM = {"lstm_bot": {"epochs": 400, "patience": 400}}


def test_a_cancel_ends_a_fanned_out_job_hard_after_the_grace(gbpusd: Context, on_cluster: Attach) -> None:
    runner = JobRunner(gbpusd, executor=on_cluster(gbpusd, job_cancel_grace_s=1))
    request = training("GBPUSD", "1d", ("xgb_agent", "lstm_bot"), bot_params=LONG_LSTM)
    job = runner.submit(request, requested_by="desk")
    _wait_training(gbpusd, job.job_id, "lstm_bot")  # its part is inside its one long stage
    started = time.monotonic()
    runner.cancel(job.job_id)
    (ended,) = wait_ended(gbpusd, [job.job_id], timeout=60)
    runner.shutdown()
    assert time.monotonic() - started < 30  # ended hard, not after the 400 epochs
    assert ended.status == "cancelled", ended.error
    assert set(versions_of(gbpusd, job.job_id).values()) <= {"discarded"}
    with gbpusd.db.read() as session:
        records = session.scalars(select(ModelTrainingRecord).where(ModelTrainingRecord.job_id == job.job_id))
        lstm = next(r for r in records if r.bot == "lstm_bot")
    assert lstm.status == "failed" and "ended after the cancel" in (lstm.error or "")


def _wait_training(ctx: Context, job_id: int, bot: str, timeout: float = 180) -> None:
    """Until the bot's part of the job has started training (its record is `running`)."""
    r = ModelTrainingRecord

    def training() -> bool:
        with ctx.db.read() as session:
            found = session.scalar(
                select(r.id).where(r.job_id == job_id, r.bot == bot, r.status == "running")
            )
        return found is not None

    wait_until(training, timeout=timeout, interval=0.05, message=f"{bot} of job {job_id} to start training")


@pytest.mark.backends("postgresql")
def test_a_worker_killed_mid_job_leaves_it_interrupted_with_no_half_version(
    gbpusd: Context, on_cluster: Attach, dask_client: Client
) -> None:
    executor = on_cluster(gbpusd)
    runner = JobRunner(gbpusd, executor=executor)
    request = training("GBPUSD", "1d", ("xgb_agent", "lstm_bot"), kind="manual", bot_params=LONG_LSTM)
    job = runner.submit(request, requested_by="desk")
    running = wait_stage(gbpusd, job.job_id, "training lstm_bot 2/2")
    assert versions_of(gbpusd, job.job_id) == {"xgb_agent": "ready"}  # registered, not yet committed
    body = psutil.Process(int(job_owner(gbpusd, running.job_id).rpartition(":")[2]))
    worker = body.parent().parent()  # body <- the worker's fork server <- the worker
    assert worker.pid in dask_client.run(os.getpid).values()
    os.kill(worker.pid, signal.SIGKILL)

    deadline = time.monotonic() + 60
    while store.get_job(gbpusd.db, job.job_id).active and time.monotonic() < deadline:
        recover_orphans(gbpusd.db)  # what any process that starts work does
        time.sleep(0.2)
    ended = store.get_job(gbpusd.db, job.job_id)
    assert ended.status == "interrupted", ended
    assert "stopped" in (ended.error or "") and "were discarded" in (ended.error or "")
    assert versions_of(gbpusd, job.job_id) == {"xgb_agent": "discarded"}  # no half version
    assert not body.is_running()  # the body went with its worker
    runner.shutdown()
