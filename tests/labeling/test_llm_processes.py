"""The budget and the ledger across real processes: concurrent `label` runs share one daily cap,
and a run killed mid-way leaves every request it sent on the ledger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.db.models import LabelSet, LLMCall
from core.labeling.llm import ledger
from tests.conftest import GOOG_CSV, REPO, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY
from tests.support.servers import wait_until

BUDGET = 0.05
PRICES = "gpt-4o=5/5"  # about $0.006 a call on GOOG's prompt: the budget buys some eight calls in all


@pytest.fixture
def store_home(home: Path) -> Iterator[tuple[Context, Path]]:
    ctx = Context.create(make_settings(home), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    yield ctx, home
    forget_database(ctx.settings.db_url)


def _env(home: Path, server: FakeLLMServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_"))}
    return {
        **env,
        "PYTHONPATH": str(REPO),
        "CANDLELAB_HOME": str(home),
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": server.openai_url,
        "LLM_TIMEOUT": "5",
        **extra,
    }


def _label(seed: int, samples: int) -> list[str]:
    pair = ["--symbol", "GOOG", "--timeframe", "1d", "--labeler", "llm"]
    return [sys.executable, "-m", "core", "label", *pair, "--samples", str(samples), "--seed", str(seed)]


def test_concurrent_label_processes_never_spend_more_than_the_daily_budget(store_home) -> None:
    ctx, home = store_home
    with FakeLLMServer(api_key=API_KEY, latency=0.3) as server:
        env = _env(home, server, LLM_DAILY_BUDGET_USD=str(BUDGET), LLM_PRICES=PRICES, LLM_CONCURRENCY="4")
        procs = [
            subprocess.Popen(
                [*_label(seed, 10), "--force", "--json"], cwd=home, env=env, stdout=subprocess.PIPE, text=True
            )
            for seed in range(4)
        ]
        docs = [json.loads(p.communicate(timeout=180)[0]) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, docs
        sent = server.requests
    with ctx.db.read() as session:
        totals = ledger.ledger_totals(session, since=ledger.day_start())
        sets = session.scalars(select(LabelSet)).all()
    assert totals.cost_usd <= BUDGET, f"together they spent ${totals.cost_usd:.4f} of ${BUDGET}"
    assert totals.in_flight == 0 and totals.attempts == sent
    assert all(d["status"] == "budget_exhausted" for d in docs), [d["status"] for d in docs]
    assert sum(d["labeled"] for d in docs) == totals.calls
    assert totals.cost_usd >= 0.6 * BUDGET  # the cap was used, not left idle
    assert sum(s.api_calls for s in sets) == totals.calls
    assert sum(s.cost_usd for s in sets) == pytest.approx(totals.cost_usd)


def _poll(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    wait_until(condition, timeout=timeout, interval=0.02)


KILLED_RUN = """
import sys
from core.context import Context
from core.labeling.service import run_labeling
ctx = Context.create(logs=False)
run_labeling(ctx, "GOOG", "1d", samples=60, labeler="llm", seed=3, job_id=int(sys.argv[1]))
"""


def test_a_killed_run_leaves_every_request_it_sent_on_the_ledger(store_home) -> None:
    ctx, home = store_home
    concurrency, job_id = 4, 9001
    with FakeLLMServer(api_key=API_KEY, latency=0.1) as server:
        env = _env(home, server, LLM_CONCURRENCY=str(concurrency))
        run = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(job_id)], cwd=home, env=env)
        _poll(lambda: server.requests >= 14)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        time.sleep(0.3)  # requests the server was still answering end (their client is gone)
        received = server.requests
    assert 14 <= received < 60
    with ctx.db.read() as session:
        label_set = session.scalars(select(LabelSet)).one()
        by_set = ledger.ledger_totals(session, label_set_id=label_set.id)
        by_job = ledger.ledger_totals(session, job_id=job_id)
        rows = session.scalar(select(func.count()).select_from(LLMCall))
    assert label_set.status == "running"  # nobody recorded an end: the process died
    # Written before sending: the ledger counts every request the server saw, plus at most the
    # ones in flight at the kill (recorded, maybe not yet sent).
    assert 0 <= by_set.attempts - received <= concurrency, (by_set, received)
    assert by_set.in_flight <= concurrency and rows == by_set.calls
    assert by_job == by_set
    assert (label_set.api_calls, label_set.tokens_in) == (by_set.calls, by_set.tokens_in)
    assert label_set.cost_usd == pytest.approx(by_set.cost_usd, abs=1e-12) and by_set.cost_usd > 0
