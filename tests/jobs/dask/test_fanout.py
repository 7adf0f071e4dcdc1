"""Full training of a watchlist on a real Dask cluster: four imported pairs, two bots each, fanned
out as eight parts over two worker processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from distributed import Client, get_task_stream
from sqlalchemy import select

from core.context import Context
from core.data import store as bar_store
from core.db.models import AIModelVersion, ModelTrainingRecord
from core.jobs.dask import fanout
from core.jobs.runner import JobRunner
from core.learning.samples import record_execution_outcome, update_outcome_with_pnl
from core.requests import RetrainRequest
from tests.jobs.dask.conftest import Attach
from tests.jobs.helpers import import_pairs, training, wait_ended

BOTS = ("xgb_agent", "ensemble_bot")


@pytest.mark.slow
@pytest.mark.backends("sqlite", "postgresql")
def test_four_pairs_times_two_bots_fan_out_over_both_workers(
    ctx: Context, tmp_path: Path, on_cluster: Attach, dask_client: Client, db_backend: str
) -> None:
    pairs = import_pairs(ctx, tmp_path)
    runner = JobRunner(ctx, executor=on_cluster(ctx))
    broken = pairs[-1]  # this pair's ensemble_bot gets a parameter it does not have
    requests = [
        training(
            symbol,
            tf,
            BOTS,
            activate="always",
            bot_params={"ensemble_bot": {"no_such_knob": 1}} if (symbol, tf) == broken else None,
        )
        for symbol, tf in pairs
    ]
    with get_task_stream(dask_client) as stream:
        jobs = [runner.submit(request, requested_by="desk") for request in requests]
        ended = wait_ended(ctx, [job.job_id for job in jobs], timeout=240)
    runner.shutdown()

    parts = [t for t in stream.data if str(t["key"]).startswith("candlelab-part-")]
    assert len(parts) == len(pairs) * len(BOTS)
    assert len({t["worker"] for t in parts}) == 2  # the watchlist trained on both workers
    for job, (symbol, tf) in zip(ended, pairs, strict=True):
        assert job.status == "succeeded", job.error
        assert (job.progress, job.stage) == (1.0, "done")  # the parts' shares added up to the whole
        versions = {v["bot"]: v for v in job.result["versions"]}
        if (symbol, tf) == broken:  # one failed part is reported; the other's version is kept
            assert set(versions) == {"xgb_agent"}
            assert [f["bot"] for f in job.result["failed"]] == ["ensemble_bot"]
            assert "no_such_knob" in job.result["failed"][0]["error"]
        else:
            assert set(versions) == set(BOTS) and job.result["failed"] == []
        assert all(v["activated"] for v in versions.values())
    _activations_waited_for_every_part(ctx, [job.job_id for job in ended])


def _activations_waited_for_every_part(ctx: Context, job_ids: list[int]) -> None:
    """Activation is deferred to the job's commit: no version went live before its job's last part
    had registered (and finished) its version."""
    v, r = AIModelVersion, ModelTrainingRecord
    with ctx.db.read() as session:
        for job_id in job_ids:
            rows = session.execute(
                select(v.created_at, v.activated_at, r.finished_at)
                .join(r, r.id == v.training_record_id)
                .where(r.job_id == job_id)
            ).all()
            last_part = max(max(created, finished) for created, _, finished in rows)
            assert all(activated is not None and activated >= last_part for _, activated, _ in rows), rows


def test_progress_is_the_sum_of_the_parts() -> None:
    labeled = fanout.Prepared(("a", "b", "c", "d"), label_set_id=1, labeled=True)
    shares = [fanout.progress(labeled, done, 4)[0] for done in range(5)]
    assert shares[0] == pytest.approx(0.3)  # the labeling stage's share
    steps = {round(b - a, 6) for a, b in itertools.pairwise(shares)}
    assert steps == {round((fanout.COMMIT_AT - 0.3) / 4, 6)}  # each part an equal share
    assert fanout.progress(labeled, 2, 4)[1] == "training 4 bots as parts: 2 done"


@pytest.mark.slow
def test_the_nightly_retrain_fans_out_per_bot_and_commits_both(gbpusd: Context, on_cluster: Attach) -> None:
    with gbpusd.db.read() as session:
        bars = bar_store.load_bars(session, "GBPUSD", "1d")
    for bot in BOTS:  # 40 closed paper trades per bot, on the imported series
        for i in range(40):
            ts, row, later = bars.index[200 + 6 * i], bars.iloc[200 + 6 * i], bars.iloc[203 + 6 * i]
            rec = "BUY" if i % 2 else "SELL"
            up = 1 if rec == "BUY" else -1
            sample = record_execution_outcome(
                gbpusd,
                symbol="GBPUSD",
                timeframe="1d",
                bot=bot,
                version_id=None,
                recommendation=rec,
                confidence=0.6,
                entry_price=float(row["close"]),
                predicted_at=ts.to_pydatetime(),
                target=float(row["close"]) * (1 + 0.02 * up),
                stop_loss=float(row["close"]) * (1 - 0.01 * up),
            )
            exit_time = bars.index[203 + 6 * i].to_pydatetime()
            update_outcome_with_pnl(
                gbpusd, sample, exit_price=float(later["close"]), exit_time=exit_time, exit_reason="timeout"
            )
    runner = JobRunner(gbpusd, executor=on_cluster(gbpusd))
    request = RetrainRequest(symbol="GBPUSD", timeframe="1d", min_samples=30)
    job = runner.submit(request, requested_by="system")
    (ended,) = wait_ended(gbpusd, [job.job_id])
    runner.shutdown()
    assert ended.status == "succeeded", ended.error
    assert sorted(r["bot"] for r in ended.result["retrained"]) == sorted(BOTS)
    assert ended.result["failed"] == [] and ended.result["skipped"] == []
    assert all(r["samples"] == 40 for r in ended.result["retrained"])
