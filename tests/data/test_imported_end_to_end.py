"""An analyst's own hourly CSV, end to end under the offline provider: the chart's background
training, then paper trading and a retrain from its outcomes, the scheduler's sweep, and a quick
training on the real GBPUSD MetaTrader 5 export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.context import Context
from core.data import supply
from core.jobs import store as job_store
from core.jobs.local.executors import ThreadExecutor
from core.jobs.runner import JobRunner
from core.scheduling.tasks import staleness_sweep
from tests.conftest import REPO, SHARED_DATA, make_settings
from tests.data.helpers import hourly_fx, write_yahoo
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_", "MARKET_"))}
    return {**env, "CANDLELAB_HOME": str(home), "PYTHONPATH": str(REPO), **extra}


def _core(home: Path, *args: object, **env: str) -> dict:  # type: ignore[type-arg]
    cmd = [sys.executable, "-m", "core", *map(str, args), "--json"]
    done = subprocess.run(cmd, cwd=home, env=_env(home, **env), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _wait(ctx: Context, job_id: int, timeout: float = 240.0) -> job_store.JobView:
    def ended() -> job_store.JobView | None:
        job = job_store.get_job(ctx.db, job_id)
        return job if job.status not in job_store.ACTIVE_STATUSES else None

    return wait_until(
        ended,
        timeout=timeout,
        interval=0.2,
        message=lambda: f"job {job_id} to end: {job_store.get_job(ctx.db, job_id)}",
    )


def test_an_imported_hourly_csv_trains_from_the_chart_then_trades_and_retrains(
    cli, home: Path, tmp_path: Path
) -> None:
    bars = hourly_fx(3_000)
    csv = write_yahoo(bars.iloc[:2_500], tmp_path / "EURUSD_H1.csv")
    imported = _core(home, "data", "import", csv, "--symbol", "EURUSD", "--timeframe", "1h")
    assert imported["rows"] == 2_500 and imported["price_decimals"] == 5
    # The chart path: stale, so quick training starts in a detached worker process.
    started = _core(home, "trigger", "--symbol", "EURUSD", "--timeframe", "1h", QUICK_BOTS="xgb_agent")
    assert started["started"], started
    ctx = Context.create(make_settings(home), logs=False)
    job = _wait(ctx, started["job_id"])
    assert job.status == "succeeded", job.error
    versions = cli("versions", "--symbol", "EURUSD", "--timeframe", "1h", "--json").json()["versions"]
    assert [v["bot"] for v in versions] == ["xgb_agent"]
    assert cli("activate", versions[0]["version_id"], "--json").code == 0
    # A newer export extends the series; paper trading replays the bars no version has seen.
    newer = write_yahoo(bars.iloc[2_000:], tmp_path / "EURUSD_H1_newer.csv")
    assert (
        cli("data", "import", newer, "--symbol", "EURUSD", "--timeframe", "1h", "--json").json()["rows"]
        == 3_000
    )
    # A random walk: trained on its history, the model's calibrated confidence stays near a coin's,
    # under the paper threshold; every call is traded here so the loop has outcomes to learn from.
    simulated = cli(
        "simulate",
        "--symbol",
        "EURUSD",
        "--timeframe",
        "1h",
        "--bars",
        "500",
        "--min-confidence",
        "0",
        "--json",
    )
    assert simulated.code == 0, simulated.err
    assert simulated.json()["samples_recorded"] > 0
    retrained = cli("retrain", "--min-samples", "1", "--json")
    assert retrained.code == 0, retrained.err  # its refresh step used the import as stored
    doc = retrained.json()
    assert doc["retrained"] or doc["skipped"]
    assert "unknown symbol" not in json.dumps(doc)


@pytest.mark.skipif(not (SHARED_DATA / "GBPUSD_1d_mt5.csv").exists(), reason="no shared GBPUSD export")
@pytest.mark.backends("sqlite", "postgresql")  # pending labels of a real series: NULL, never NaN
def test_quick_training_on_the_real_gbpusd_export(cli) -> None:
    path = SHARED_DATA / "GBPUSD_1d_mt5.csv"
    assert (
        cli("data", "import", path, "--symbol", "GBPUSD", "--timeframe", "1d", "--json").json()["rows"]
        == 3172
    )
    run = cli(
        "train",
        "--symbol",
        "GBPUSD",
        "--timeframe",
        "1d",
        "--labeler",
        "rules",
        "--bots",
        "xgb_agent,ensemble_bot",
        "--json",
    )
    assert run.code == 0, run.err
    assert sorted(v["bot"] for v in run.json()["versions"]) == ["ensemble_bot", "xgb_agent"]
    # On a real series the gate decides: only a version with evidence of an edge goes live on its own.
    for version in run.json()["versions"]:
        assert version["activated"] == (version["gate_verdict"] == "promote"), version["gate_reason"]
    listed = cli("versions", "--symbol", "GBPUSD", "--timeframe", "1d", "--json").json()["versions"]
    assert all(v["gate_verdict"] == "promote" for v in listed if v["is_active"])


def test_the_schedulers_sweep_trains_an_imported_series(home: Path, tmp_path: Path) -> None:
    settings = make_settings(home, watchlist=["EURUSD:1h"], quick_bots=["xgb_agent"])
    ctx = Context.create(settings, logs=False)
    supply.import_csv(ctx, write_yahoo(hourly_fx(2_000), tmp_path / "EURUSD_H1.csv"), "EURUSD", "1h")
    runner = JobRunner(ctx, executor=ThreadExecutor(1))
    try:
        note = staleness_sweep(ctx, runner)
        assert note.startswith("EURUSD 1h: started job "), note
        job = _wait(ctx, int(note.rsplit(" ", 1)[1]))
        assert job.status == "succeeded", job.error
    finally:
        runner.shutdown(wait=True)
