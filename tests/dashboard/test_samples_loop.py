"""The Samples page closes the learning loop offline: its button replays the pair's stored bars as
paper trades (the live model on bars it never saw) and retrains from the outcomes, as one job
whose progress the page polls; afterwards the page lists the recorded samples."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.context import Context
from core.data.planted import planted_edge
from core.db.database import forget_database
from core.jobs import store as job_store
from core.registry.versions import list_versions
from core.services.chart_run import run_chart_path
from core.settings import load_settings
from tests.conftest import make_settings
from tests.dashboard.conftest import open_app, texts

pytestmark = pytest.mark.slow

EDGE = {"symbol": "EDGE", "tf": "1h"}


@pytest.fixture(scope="module")
def charted_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose imported hourly export was opened on the chart: quick training has run."""
    home = tmp_path_factory.mktemp("edge_home")
    run = run_chart_path(home, planted_edge(3).bars, symbol="EDGE", keep=True)
    assert run.status == "succeeded", run.error
    forget_database(make_settings(home).db_url)
    return home


def _wait_for_jobs(ctx: Context, timeout: float = 900) -> list[job_store.JobView]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = job_store.list_jobs(ctx.db)
        if jobs and all(j.status not in job_store.ACTIVE_STATUSES for j in jobs):
            return jobs
        time.sleep(0.5)
    raise AssertionError(f"jobs still running: {job_store.list_jobs(ctx.db)}")


def test_replay_and_retrain_from_the_samples_page(
    dashboard_home: Callable[[Path | None], Path], charted_template: Path
) -> None:
    dashboard_home(charted_template)
    at = open_app("samples", EDGE)
    assert "No training samples recorded yet" in texts(at)
    at.button(key="replay_retrain").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ctx = Context.create(load_settings(), logs=False)
    (job,) = [j for j in job_store.list_jobs(ctx.db) if j.kind == "retrain"]
    assert job.request.replay_bars == 2000 and job.request.min_samples == 1
    done = [j for j in _wait_for_jobs(ctx) if j.kind == "retrain"]
    assert done[0].status == "succeeded", done[0].error
    replay = done[0].result["replay"]
    assert replay["closed"] > 0
    retrained = list_versions(ctx.db, symbol="EDGE", timeframe="1h")
    assert any(v.training_type == "retrain" for v in retrained)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Matching samples"].replace(",", "")) == replay["samples_recorded"]
    assert int(metrics["Closed"].replace(",", "")) > 0
    toasts = " ".join(str(t.value) for t in at.toast)
    assert "retrained" in toasts and "paper trades" in toasts, toasts
