"""The LLM analyst against a hostile local server: memory for a 50 MB reply, the attempt deadline
against a trickle, concurrent processes against one daily budget, and what the ledger costs.

Targets: a 50 MB reply is rejected with a peak below 20 MiB of Python allocations; a trickled
reply ends at LLM_TIMEOUT (2 s) plus under 0.5 s; six `label` processes started together spend
no more than LLM_DAILY_BUDGET_USD ($0.05) in all; a reservation (the budget check and the
ledger row, one write transaction on SQLite) takes a median under 20 ms.
Run: `.venv/bin/python bench/llm_hostile.py`. Prints plain lines; exits 1 if a target is missed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the fake server lives with the tests

from core.context import Context  # noqa: E402
from core.data import supply as data_service  # noqa: E402
from core.labeling.llm import ledger  # noqa: E402
from core.labeling.service import run_labeling  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer  # noqa: E402

KEY = "bench-key-0123456789"
GOOG = REPO / "data" / "GOOG_1d.csv"
BUDGET, PROCESSES, TIMEOUT_S = 0.05, 6, 2.0


def _context(home: Path, server: FakeLLMServer, **overrides: object) -> Context:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        candlelab_home=home,
        llm_provider="openai",
        openai_api_key=KEY,
        openai_base_url=server.openai_url,
        **overrides,
    )
    ctx = Context.create(settings, logs=False)
    data_service.import_csv(ctx, GOOG, "GOOG", "1d")
    return ctx


def huge_reply(home: Path, server: FakeLLMServer) -> bool:
    ctx = _context(home, server, llm_concurrency=1)
    server.script("huge")
    tracemalloc.start()
    started = time.perf_counter()
    result = run_labeling(ctx, "GOOG", "1d", samples=3, labeler="llm", seed=1)
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"50 MB reply: rejected {result.rejected} of 3, peak {peak / 2**20:.1f} MiB, {wall:.2f} s, "
        f"server wrote {server.body_bytes_sent / 2**20:.1f} MiB before the client hung up"
    )
    return result.rejected == 1 and peak < 20 * 2**20


def trickle(home: Path, server: FakeLLMServer) -> bool:
    ctx = _context(home, server, llm_concurrency=1, llm_max_retries=0, llm_timeout=TIMEOUT_S)
    server.trickle_s = 0.05
    server.script("trickle")
    started = time.perf_counter()
    result = run_labeling(ctx, "GOOG", "1d", samples=1, labeler="llm", seed=2, bypass_cache=True)
    held = time.perf_counter() - started
    print(
        f"trickle (1 byte / 50 ms) with LLM_TIMEOUT={TIMEOUT_S:g}: run ended after {held:.2f} s, "
        f"{result.rejected} rejected"
    )
    return result.rejected == 1 and held < TIMEOUT_S + 0.5 + 2.0  # run set-up and scoring included


def processes(home: Path, server: FakeLLMServer) -> bool:
    _context(home, server)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_"))}
    env.update(
        PYTHONPATH=str(REPO),
        CANDLELAB_HOME=str(home),
        LLM_PROVIDER="openai",
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=server.openai_url,
        LLM_DAILY_BUDGET_USD=str(BUDGET),
        LLM_PRICES="gpt-4o=5/5",
    )
    server.latency = 0.3
    cmd = [
        sys.executable,
        "-m",
        "core",
        "label",
        "--symbol",
        "GOOG",
        "--timeframe",
        "1d",
        "--labeler",
        "llm",
        "--samples",
        "10",
        "--force",
        "--json",
    ]
    procs = [
        subprocess.Popen(
            [*cmd, "--seed", str(i + 10)],
            cwd=home,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    docs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    ctx = _context(home, server)
    with ctx.db.read() as session:
        totals = ledger.ledger_totals(session, since=ledger.day_start())
    print(
        f"{PROCESSES} label processes, budget ${BUDGET:.2f}: spent ${totals.cost_usd:.4f} in "
        f"{totals.calls} calls ({totals.attempts} HTTP requests, server saw {server.requests}); "
        f"statuses {sorted({d['status'] for d in docs})}"
    )
    return totals.cost_usd <= BUDGET and totals.attempts == server.requests


def reservations(home: Path, server: FakeLLMServer) -> bool:
    ctx = _context(home, server)
    row = ledger.CallRow(None, "openai", "gpt-4o", "k" * 64, "sent")
    expires = datetime.now(UTC) + timedelta(minutes=5)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        with ctx.db.session() as session:
            ledger.reserve(session, row, reserved_usd=0.001, limit_usd=1e9, expires_at=expires)
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    print(
        f"reservation (budget check + ledger row, SQLite): median {median:.2f} ms of 200, "
        f"p90 {statistics.quantiles(times, n=10)[-1]:.2f} ms"
    )
    return median < 20


def main() -> int:
    results = []
    for case in (huge_reply, trickle, processes, reservations):
        with tempfile.TemporaryDirectory() as tmp, FakeLLMServer(api_key=KEY) as server:
            results.append(case(Path(tmp), server))
    print(f"targets: {'met' if all(results) else 'MISSED'}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
