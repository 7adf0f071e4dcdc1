"""Jobs waiting in a queue (a cluster's, a process pool's) keep a heartbeat without a process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.context import Context
from core.db.models import TrainingJob
from core.db.types import utcnow
from core.jobs import store
from core.jobs.recovery import ORPHAN_AFTER, recover_orphans
from core.requests import LabelingRequest

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _silent(ctx: Context, job_id: int, silent: timedelta) -> None:
    with ctx.db.session() as session:
        session.execute(
            update(TrainingJob).where(TrainingJob.id == job_id).values(heartbeat_at=utcnow() - silent)
        )


def _queued(ctx: Context, symbol: str, owner: str, silent: timedelta) -> int:
    job = store.create_job(ctx.db, LabelingRequest(symbol=symbol, timeframe="1d", samples=10))
    store.hand_over(ctx.db, job.job_id, owner)
    _silent(ctx, job.job_id, silent)
    return job.job_id


def test_a_queue_refreshes_its_jobs_once_per_interval_and_recovery_spares_them(ctx: Context) -> None:
    stale = _queued(ctx, "AAA", "dask:1f2e", ORPHAN_AFTER - timedelta(seconds=5))
    fresh = _queued(ctx, "BBB", "dask:3c4d", timedelta(seconds=5))
    other = _queued(ctx, "CCC", "otherhost:123", ORPHAN_AFTER + timedelta(seconds=5))
    assert store.touch_queued(ctx.db, "dask:", older_than=30) == 1  # only the stale one of this queue
    assert store.touch_queued(ctx.db, "dask:", older_than=30) == 0  # a second process writes nothing
    for job_id in (stale, fresh):  # time passes: another beat is due
        _silent(ctx, job_id, timedelta(seconds=40))
    assert store.touch_queued(ctx.db, "dask:", older_than=30) == 2
    assert recover_orphans(ctx.db) == [other]  # nobody kept its heartbeat
    assert {store.get_job(ctx.db, j).status for j in (stale, fresh)} == {"queued"}
