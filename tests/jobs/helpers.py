"""Imported series for the scale tests and small requests to train on them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select

from core.context import Context
from core.data import supply
from core.db.models import AIModelVersion, ModelTrainingRecord, TrainingJob
from core.jobs import store
from core.requests import LabelOptions, TrainingRequest, parse
from tests.bots.helpers import SMALL
from tests.conftest import GOOG_CSV, SHARED_DATA
from tests.support.servers import wait_until

GBPUSD_CSV = SHARED_DATA / "GBPUSD_1d_mt5.csv"
PAIRS = (("GBPUSD", "1d"), ("GOOG", "1d"), ("GBPUSD", "1wk"), ("GOOG", "1wk"))
LABELS = LabelOptions(lookback_days=36_000, samples=40, labeler="hindsight", sampling="uniform")


def weekly_csv(daily: pd.DataFrame, path: Path) -> Path:
    """A trader's weekly export made from daily bars (the columns a generic CSV import reads)."""
    weekly = daily.resample("W-FRI").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    weekly.dropna().rename(columns=str.title).rename_axis("Date").to_csv(path)
    return path


def import_pairs(ctx: Context, folder: Path) -> list[tuple[str, str]]:
    """GBPUSD (MetaTrader 5 export) and GOOG (Yahoo export), daily and weekly, imported from CSV."""
    supply.import_csv(ctx, GBPUSD_CSV, "GBPUSD", "1d")
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    for symbol in ("GBPUSD", "GOOG"):
        daily = _daily(symbol)
        supply.import_csv(ctx, weekly_csv(daily, folder / f"{symbol}_1wk.csv"), symbol, "1wk")
    return list(PAIRS)


def _daily(symbol: str) -> pd.DataFrame:
    if symbol == "GBPUSD":
        raw = pd.read_csv(GBPUSD_CSV)
        raw.index = pd.to_datetime(raw["time"], unit="s", utc=True)
        return raw.rename(columns={"tick_volume": "volume"})[["open", "high", "low", "close", "volume"]]
    raw = pd.read_csv(GOOG_CSV, index_col=0, parse_dates=True)
    return raw.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]


def training(
    symbol: str,
    timeframe: str,
    bots: tuple[str, ...],
    *,
    kind: str = "full",
    bot_params: dict[str, dict[str, object]] | None = None,
    **fields: object,
) -> TrainingRequest:
    """A training request with the tests' small bot sizes (`bot_params` adds to them)."""
    params = {bot: {**SMALL[bot], **(bot_params or {}).get(bot, {})} for bot in bots}
    fields.setdefault("labels", LABELS)
    return parse(
        TrainingRequest, symbol=symbol, timeframe=timeframe, kind=kind, bots=bots, bot_params=params, **fields
    )


def wait_ended(ctx: Context, job_ids: list[int], timeout: float = 180.0) -> list[store.JobView]:
    def ended() -> list[store.JobView] | None:
        jobs = [store.get_job(ctx.db, job_id) for job_id in job_ids]
        return jobs if all(not job.active for job in jobs) else None

    return wait_until(
        ended,
        timeout=timeout,
        interval=0.2,
        message=lambda: f"the jobs to end: {[store.get_job(ctx.db, j) for j in job_ids]}",
    )


def wait_stage(ctx: Context, job_id: int, prefix: str, timeout: float = 120.0) -> store.JobView:
    def reached() -> store.JobView | None:
        job = store.get_job(ctx.db, job_id)
        if job.stage.startswith(prefix):
            return job
        assert job.active, f"job {job_id} ended before {prefix!r}: {job}"
        return None

    return wait_until(
        reached,
        timeout=timeout,
        interval=0.05,
        message=lambda: f"job {job_id} to reach {prefix!r}: {store.get_job(ctx.db, job_id)}",
    )


def versions_of(ctx: Context, job_id: int) -> dict[str, str]:
    """bot -> status of every version the job registered."""
    v, r = AIModelVersion, ModelTrainingRecord
    with ctx.db.read() as session:
        rows = session.execute(
            select(v.bot, v.status).join(r, r.id == v.training_record_id).where(r.job_id == job_id)
        ).all()
    return {bot: status for bot, status in rows}


def job_owner(ctx: Context, job_id: int) -> str:
    """The job's owner: "host:pid" of the process running its body."""
    with ctx.db.read() as session:
        owner = session.scalar(select(TrainingJob.owner).where(TrainingJob.id == job_id))
    assert owner
    return owner
