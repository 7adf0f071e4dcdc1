"""Dead work is seen dead, by anyone: a detached job SIGKILLed while only the API runs is closed
`interrupted` within 30 s, and the version it registered but never committed cannot go live by
any path (the page's service call, the CLI, the API), before or after it is closed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from core.context import Context
from core.db.models import AIModelVersion, ModelTrainingRecord, TrainingJob
from core.errors import Conflict
from core.jobs import store
from core.requests import ActivateRequest
from core.services import models as model_service
from core.services.actors import Actor
from tests.api import live
from tests.conftest import GOOG_CSV, make_settings
from tests.support.servers import wait_until

# Two bots: the first registers its version, the second (LSTM) trains long enough to be killed.
SLOW_QUICK = {"QUICK_BOTS": "xgb_agent,lstm_bot", "QUICK_SAMPLES": "300", "QUICK_LOOKBACK_DAYS": "3000"}


def _registered(ctx: Context, job_id: int) -> list[int]:
    with ctx.db.read() as session:
        return list(
            session.scalars(
                select(AIModelVersion.id)
                .join(ModelTrainingRecord, ModelTrainingRecord.id == AIModelVersion.training_record_id)
                .where(ModelTrainingRecord.job_id == job_id)
            )
        )


def _owner_pid(ctx: Context, job_id: int) -> int:
    with ctx.db.read() as session:
        owner = session.get(TrainingJob, job_id).owner or ""
    return int(owner.rpartition(":")[2])


def _killable(ctx: Context, job_id: int) -> store.JobView | None:
    """The job once its first bot registered a version and its second is training."""
    job = store.get_job(ctx.db, job_id)
    return job if "lstm_bot" in job.stage and _registered(ctx, job_id) else None


def _ended(ctx: Context, job_id: int) -> store.JobView | None:
    job = store.get_job(ctx.db, job_id)
    return job if job.status not in store.ACTIVE_STATUSES else None


def _refused_everywhere(
    home: Path, server: live.LiveServer, token: str, ctx: Context, version_id: int, why: str
) -> None:
    code, _doc, err = live.cli(home, "activate", str(version_id))
    assert code == 2 and why in err, err
    with server.client(token) as client:
        reply = client.post(f"/ai/activate-model/{version_id}")
    assert reply.status_code in (409, 422) and why in reply.json()["error"]["message"], reply.text
    # What the Models page's button calls, as the dashboard's local user.
    with pytest.raises(Exception, match=why) as refused:
        model_service.activate(ctx, Actor.local_user(), ActivateRequest(version_id=version_id))
    assert isinstance(refused.value, Conflict) or "discarded" in why


def test_a_killed_detached_job_is_interrupted_while_only_the_api_runs(home: Path) -> None:
    code, _doc, err = live.cli(home, "data", "import", str(GOOG_CSV), "--symbol", "GOOG", "--timeframe", "1d")
    assert code == 0, err
    token = live.create_token(home, "desk", "read,activate")
    with live.serve(home, env=SLOW_QUICK) as server:
        started = subprocess.run(
            [sys.executable, "-m", "core", "trigger", "--symbol", "GOOG", "--timeframe", "1d", "--json"],
            cwd=home,
            env={**live.child_env(home), **SLOW_QUICK},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stderr
        ctx = Context.create(make_settings(home), logs=False)
        job_id = int(json.loads(started.stdout)["job_id"])
        wait_until(
            lambda: _killable(ctx, job_id), timeout=300, message=lambda: str(store.get_job(ctx.db, job_id))
        )
        (version_id,) = _registered(ctx, job_id)
        os.kill(_owner_pid(ctx, job_id), signal.SIGKILL)
        killed_at = time.monotonic()

        # At once, before anyone noticed: the version is registered and ready, its job unfinished.
        _refused_everywhere(home, server, token, ctx, version_id, "has not committed")

        ended = wait_until(
            lambda: _ended(ctx, job_id), timeout=40, message=lambda: str(store.get_job(ctx.db, job_id))
        )
        took = time.monotonic() - killed_at
        assert ended.status == "interrupted" and took <= 30, (ended.status, took)
        assert "no model from it was activated" in (ended.error or ""), ended.error
        assert f"version(s) {version_id} were discarded" in (ended.error or ""), ended.error
        _refused_everywhere(home, server, token, ctx, version_id, "discarded")
        listed = live.cli(home, "jobs")[1]["jobs"][0]
        assert {"status", "progress", "stage"} <= set(listed) and listed["status"] == "interrupted"
