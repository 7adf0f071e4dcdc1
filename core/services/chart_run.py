"""One chart-path run on a fresh home, for measuring power: import an export, open the chart, wait.

`bench/power.py` and the tests share it, so what the benchmark measures is what the tests pin:
the CSV import path, the real trigger and job runner, default settings (any override is named
by the caller), and the promotion gate as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.context import Context
from core.data.imports import import_csv
from core.data.planted import write_csv
from core.db.database import forget_database
from core.jobs import store
from core.jobs.installation import installation_env
from core.jobs.local.process_pool import ProcessPool
from core.jobs.runner import JobRunner
from core.jobs.triggers import trigger
from core.registry.versions import active_versions
from core.requests import TriggerRequest
from core.settings import load_settings


@dataclass(frozen=True)
class ChartRun:
    live: bool  # the job left at least one bot active
    seconds: float  # trigger to done
    status: str
    error: str | None
    versions: list[dict[str, Any]] = field(default_factory=list)


def _summary(version: dict[str, Any]) -> dict[str, Any]:
    m = version.get("metrics") or {}
    return {
        "bot": version["bot"],
        "verdict": version.get("gate_verdict"),
        "accuracy": m.get("directional_accuracy"),
        "baseline": m.get("baseline_directional_accuracy"),
        "effective_n": m.get("directional_effective_n"),
        "p_value": m.get("directional_edge_p_value"),
    }


def _dashboard_executor(ctx: Context) -> ProcessPool:
    """The dashboard's executor without a cluster (`core.runtime.make_executor`, background): the
    job runs in a worker process, at the job niceness."""
    s = ctx.settings
    env = installation_env(s)
    return ProcessPool(ctx.db, s.logs_dir, workers=s.job_workers, grace_s=s.job_cancel_grace_s, env=env)


def run_chart_path(
    home: Path,
    bars: pd.DataFrame,
    *,
    symbol: str,
    timeframe: str = "1h",
    keep: bool = False,
    **overrides: Any,
) -> ChartRun:
    """Import `bars` as a CSV export into a fresh home at `home`, trigger, and wait for the job."""
    settings = load_settings(candlelab_home=home, dashboard_scheduler=False, **overrides)
    ctx = Context.create(settings, logs=False)
    try:
        csv = home / f"{symbol}_{timeframe}.csv"
        write_csv(bars, str(csv))
        import_csv(ctx, csv, symbol, timeframe)
        runner = JobRunner(ctx, _dashboard_executor(ctx))
        started = time.perf_counter()
        try:
            result = trigger(runner, TriggerRequest(symbol=symbol, timeframe=timeframe))
            if result.job_id is None:
                return ChartRun(False, 0.0, result.state, result.reason)
            while (job := store.get_job(ctx.db, result.job_id)).status in store.ACTIVE_STATUSES:
                time.sleep(0.05)
        finally:
            runner.shutdown(wait=True)
        seconds = time.perf_counter() - started
        live = bool(active_versions(ctx.db, symbol, timeframe))
        versions = [_summary(v) for v in (job.result or {}).get("versions", [])]
        return ChartRun(live, seconds, job.status, job.error, versions)
    finally:
        if not keep:
            forget_database(settings.db_url)
