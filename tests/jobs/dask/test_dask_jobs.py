"""Jobs on a real Dask cluster: a `trigger` that submits and exits, artifacts on S3, a cooperative
cancel. (Hard stops and a killed worker are in `test_faults.py`, which runs last.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from distributed import Client

from core.context import Context
from core.data import supply
from core.jobs.runner import JobRunner
from core.registry.loading import load_version
from core.registry.versions import get_version
from tests import s3
from tests.conftest import make_settings
from tests.jobs.dask.conftest import Attach
from tests.jobs.helpers import GBPUSD_CSV, training, versions_of, wait_ended, wait_stage

pytestmark = pytest.mark.slow


def test_a_trigger_that_exits_at_once_leaves_versions_another_process_sees(
    gbpusd: Context, home: Path, on_cluster: Attach, dask_client: Client
) -> None:
    on_cluster(gbpusd)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_"))},
        "CANDLELAB_HOME": str(home),
        "JOB_EXECUTOR": "dask",
        "DASK_SCHEDULER_ADDRESS": dask_client.scheduler.address,
        "QUICK_BOTS": "xgb_agent",
        "QUICK_SAMPLES": "40",
    }
    cmd = [sys.executable, "-m", "core", "trigger", "--symbol", "GBPUSD", "--timeframe", "1d", "--json"]
    done = subprocess.run(cmd, cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout)
    assert started["started"], started  # the command has exited; its task lives on (fire_and_forget)

    (job,) = wait_ended(gbpusd, [started["job_id"]])
    assert job.status == "succeeded", job.error
    assert job.requested_by != "chart" and job.kind == "quick"
    (version,) = job.result["versions"]
    seen = get_version(gbpusd.db, version["version_id"])  # read here, written by a worker's child
    assert (seen.bot, seen.symbol, seen.status) == ("xgb_agent", "GBPUSD", "ready")


def test_a_worker_writes_artifacts_to_s3_that_this_process_loads_verified(
    home: Path, s3_server: s3.S3Server, on_cluster: Attach
) -> None:
    ctx = Context.create(make_settings(home, **s3_server.settings(s3_server.new_bucket())), logs=False)
    supply.import_csv(ctx, GBPUSD_CSV, "GBPUSD", "1d")
    runner = JobRunner(ctx, executor=on_cluster(ctx))
    job = runner.submit(training("GBPUSD", "1d", ("xgb_agent",), kind="manual"), requested_by="desk")
    (job,) = wait_ended(ctx, [job.job_id])
    runner.shutdown()
    assert job.status == "succeeded", job.error
    version = get_version(ctx.db, job.result["versions"][0]["version_id"])
    assert not (home / "models").exists() or not any((home / "models").iterdir())  # nothing local
    bot = load_version(ctx, version)  # fetched from S3 and checked against its SHA-256
    assert bot.name == "xgb_agent" and bot.fitted


def test_a_cancel_stops_a_job_at_its_next_stage_and_keeps_nothing(
    gbpusd: Context, on_cluster: Attach
) -> None:
    runner = JobRunner(gbpusd, executor=on_cluster(gbpusd))
    job = runner.submit(
        training("GBPUSD", "1d", ("xgb_agent", "ensemble_bot"), kind="manual"), requested_by="desk"
    )
    wait_stage(gbpusd, job.job_id, "training ensemble_bot")
    runner.cancel(job.job_id)  # the grace is 30 s: the body stops on its own after this stage
    (ended,) = wait_ended(gbpusd, [job.job_id], timeout=240)
    runner.shutdown()
    assert ended.status == "cancelled"
    assert "cancelled before its versions went live" in (ended.error or "")
    assert set(versions_of(gbpusd, job.job_id).values()) == {"discarded"}
