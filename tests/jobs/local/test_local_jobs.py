"""Background jobs without a cluster (the embedded defaults): each runs in a process of its own that
the dashboard's executor watches, never on a thread of the process that asked for it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.jobs import store
from core.jobs.runner import JobRunner
from core.requests import LabelingRequest
from core.runtime import make_executor
from tests.conftest import make_settings
from tests.jobs.helpers import GBPUSD_CSV, job_owner, training, versions_of, wait_ended, wait_stage

pytestmark = pytest.mark.slow

LONG_LSTM = {"lstm_bot": {"epochs": 400, "patience": 400}}


@pytest.fixture
def local(home: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("JOB_NICE", "10")  # the default, which test workers turn off; job bodies read it
    ctx = Context.create(make_settings(home, job_cancel_grace_s=1, job_workers=1), logs=False)
    supply.import_csv(ctx, GBPUSD_CSV, "GBPUSD", "1d")
    yield ctx
    forget_database(ctx.settings.db_url)


def _body(ctx: Context, job_id: int) -> psutil.Process:
    pid = job_owner(ctx, job_id).rpartition(":")[2]
    assert int(pid) != os.getpid()  # not this process: a worker process of its own
    return psutil.Process(int(pid))


def test_a_cancel_the_body_does_not_honour_in_time_ends_its_process(local: Context) -> None:
    runner = JobRunner(local, executor=make_executor(local, "background"))
    request = training("GBPUSD", "1d", ("xgb_agent", "lstm_bot"), kind="manual", bot_params=LONG_LSTM)
    job = runner.submit(request, requested_by="local")
    labels = LabelingRequest(
        symbol="GBPUSD", timeframe="1d", samples=20, labeler="rules", lookback_days=36_000
    )
    waiting = runner.submit(labels, requested_by="local")  # JOB_WORKERS=1: it waits its turn
    wait_stage(local, job.job_id, "training lstm_bot", timeout=180)
    assert store.get_job(local.db, waiting.job_id).status == "queued"
    body = _body(local, job.job_id)
    assert body.nice() >= local.settings.job_nice  # it yields the cores to the pages
    autogroup = Path(f"/proc/{body.pid}/autogroup")  # and so does its session, where Linux has them
    if autogroup.exists():
        assert autogroup.read_text().split()[-1] == str(local.settings.job_nice)
    if hasattr(os, "SCHED_IDLE"):  # and it runs only on time nothing else wants
        assert os.sched_getscheduler(body.pid) == os.SCHED_IDLE
    started = time.monotonic()
    runner.cancel(job.job_id)
    runner.wait(job.job_id, timeout=60)
    ended = store.get_job(local.db, job.job_id)
    assert time.monotonic() - started < 20
    assert ended.status == "cancelled" and "ended 1 s after the cancel request" in (ended.error or "")
    assert set(versions_of(local, job.job_id).values()) == {"discarded"}  # xgb_agent's, registered before
    assert not body.is_running()
    runner.wait(waiting.job_id, timeout=120)  # then the waiting job had its turn
    assert store.get_job(local.db, waiting.job_id).status == "succeeded"
    runner.shutdown()


def test_a_body_killed_mid_job_is_recorded_interrupted_at_once(local: Context) -> None:
    runner = JobRunner(local, executor=make_executor(local, "background"))
    request = training("GBPUSD", "1d", ("xgb_agent", "lstm_bot"), kind="manual", bot_params=LONG_LSTM)
    job = runner.submit(request, requested_by="local")
    wait_stage(local, job.job_id, "training lstm_bot", timeout=180)
    body = _body(local, job.job_id)
    os.kill(body.pid, signal.SIGKILL)
    (ended,) = wait_ended(local, [job.job_id], timeout=30)  # no heartbeat timeout: its watcher saw it
    assert ended.status == "interrupted"
    assert "was ended by SIGKILL before the job recorded an end" in (ended.error or "")
    assert set(versions_of(local, job.job_id).values()) == {"discarded"}
    runner.shutdown()
