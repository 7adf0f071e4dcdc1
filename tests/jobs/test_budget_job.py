"""A training job whose LLM labeling runs out of today's budget ends `budget_exhausted`, not failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.context import Context
from core.data import service
from core.db.database import forget_database
from core.jobs import store
from core.jobs.executor import ThreadExecutor
from core.jobs.runner import JobRunner
from core.jobs.triggers import training_params
from tests.conftest import GOOG_CSV, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY, llm_overrides

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database

EXPENSIVE = {"gpt-4o": (1000.0, 1000.0)}  # about $1.10 a call: a $5 budget buys four labels


def test_budget_stop_during_labeling_ends_the_job_budget_exhausted(home: Path) -> None:
    with FakeLLMServer(api_key=API_KEY) as server:
        settings = make_settings(
            home, **llm_overrides("openai", server), llm_prices=EXPENSIVE, llm_daily_budget_usd=5.0
        )
        ctx = Context.create(settings, logs=False)
        service.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
        runner = JobRunner(ctx, executor=ThreadExecutor(1))
        params = {**training_params(settings, "quick"), "lookback_days": 3000, "refresh": False}
        job = runner.submit("quick", "GOOG", "1d", params)
        runner.shutdown(wait=True)
    done = store.get_job(ctx.db, job.job_id)
    assert done.status == "budget_exhausted", done
    assert "stopped on the daily LLM budget" in (done.error or "")
    assert 1 <= server.requests <= 5  # it stopped calling, well before 50 points
    assert 1 <= done.llm_calls <= 5 and 0 < done.cost_usd <= 5.0  # the spend is on the job row
    assert done.label_set_id is not None
    with ctx.db.read() as session:
        assert store.active_job(session, "GOOG", "1d") is None  # the pair is free again
    forget_database(settings.db_url)
