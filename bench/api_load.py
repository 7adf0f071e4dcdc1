"""Outcomes at load: 50 trading-engine clients posting and closing executed signals for 20 s.

A real server (`python -m core api`, as an operator starts it; `--access-log` adds one log line
per request) on a fresh SQLite home, or on PostgreSQL. Each client loops over: record an
executed signal (`POST /ai/outcomes`, a new order id), then close it
(`POST /ai/outcomes/{order_id}/close`). One request in ten is
sent a second time, as if its answer had been lost: the retry must answer 200 with the same
record. At the end the database is counted against what the clients were told: zero lost and
zero duplicated rows.

Prints requests/s, p50/p99 latency (every request, resends included), the CPU time server and
client spent per request (what a busy machine does not change much), and the row check. The
clients use aiohttp: on two shared cores the client's own cost is taken from the server, and
httpx's async client spends about ten times aiohttp's CPU per request.
Targets: at least 300 requests/s and p99 under 150 ms on SQLite, client and server sharing
this machine's 2 cores.

Run: `.venv/bin/python bench/api_load.py [--clients 50] [--seconds 20] [--postgres | --database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from core.context import Context
from core.db.database import forget_database
from core.db.models import AIModelVersion, AITrainingSample
from core.requests import TokenRequest
from core.services import tokens
from core.services.actors import Actor
from tests import postgres
from tests.api.live import serve
from tests.conftest import make_settings

RESEND_SHARE = 0.10
TARGET_RPS, TARGET_P99_MS = 300, 150
FIRST_BAR = datetime(2024, 1, 1, tzinfo=UTC)
CLOSE = {"exit_price": 104.0, "exit_time": "2030-01-01T00:00:00Z", "exit_reason": "timeout"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    opened: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    resends: int = 0
    failures: list[str] = field(default_factory=list)


def _execution(order_id: str, version_id: int, bar: int) -> dict[str, Any]:
    """A distinct call per order: the client's own version at its own bar (one call, one sample)."""
    return {
        "order_id": order_id,
        "version_id": version_id,
        "recommendation": "BUY",
        "confidence": 0.66,
        "entry_price": 100.0 + bar % 7,
        "predicted_at": (FIRST_BAR + timedelta(minutes=5 * bar)).isoformat(),
        "target": 110.0,
        "stop_loss": 95.0,
        "features": {"rsi_14": 0.5, "ret_1": 0.001, "atr_pct": 0.012, "volume_z": None},
    }


async def _post(http: aiohttp.ClientSession, tally: Tally, path: str, body: dict[str, Any], ok: int) -> Any:
    started = time.perf_counter()
    async with http.post(path, json=body) as reply:
        answer = await reply.read()
    tally.latencies.append(time.perf_counter() - started)
    if reply.status != ok:
        tally.failures.append(f"{path} answered {reply.status}: {answer[:200]!r}")
        return None
    return json.loads(answer)


async def _resend(
    http: aiohttp.ClientSession, tally: Tally, path: str, body: dict[str, Any], first: Any
) -> None:
    """Send a request again as if its answer was lost: the same record must come back."""
    tally.resends += 1
    again = await _post(http, tally, path, body, 200)
    if again is not None and (again["id"], again["replayed"], again["status"]) != (
        first["id"],
        True,
        first["status"],
    ):
        tally.failures.append(f"a resend of {path} answered another record: {again}")


async def _client(n: int, url: str, token: str, version_id: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(n)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url=url, headers=headers, timeout=timeout) as http:
        bar = 0
        while time.perf_counter() < deadline and not tally.failures:
            order_id = f"bench-{n}-{bar}"
            body = _execution(order_id, version_id, bar)
            record = await _post(http, tally, "/ai/outcomes", body, 201)
            if record is None:
                return
            tally.opened.add(order_id)
            if rng.random() < RESEND_SHARE:
                await _resend(http, tally, "/ai/outcomes", body, record)
            path = f"/ai/outcomes/{order_id}/close"
            closed = await _post(http, tally, path, CLOSE, 200)
            if closed is None:
                return
            tally.closed.add(order_id)
            if rng.random() < RESEND_SHARE:
                await _resend(http, tally, path, CLOSE, closed)
            bar += 1


async def _load(url: str, token: str, version_ids: list[int], seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_client(n, url, token, v, deadline, tally) for n, v in enumerate(version_ids)))
    return tally, time.perf_counter() - started


def _prepare(home: Path, database_url: str | None, clients: int) -> tuple[list[int], str]:
    """Schema at head, one registered version per client, and the engine's token."""
    settings = make_settings(home, database_url=database_url)
    ctx = Context.create(settings, logs=False)
    with ctx.db.session() as session:
        rows = [AIModelVersion(bot="xgb_agent", symbol="BENCH", timeframe="5m") for _ in range(clients)]
        session.add_all(rows)
        session.flush()
        version_ids = [row.id for row in rows]
    request = TokenRequest(name="load-engine", scopes=("outcomes",))
    secret = tokens.create_token(ctx, Actor.system("bench"), request).secret
    return version_ids, secret


def _rows(home: Path, database_url: str | None) -> tuple[int, int, int]:
    """(rows, distinct order ids, closed rows) of the bench's orders, as the database has them."""
    settings = make_settings(home, database_url=database_url)
    ctx = Context.create(settings, migrate=False, logs=False)
    s = AITrainingSample
    with ctx.db.read() as session:
        rows, distinct, closed = session.execute(
            select(
                func.count(),
                func.count(func.distinct(s.order_id)),
                func.count().filter(s.status == "closed"),
            ).where(s.order_id.like("bench-%"))
        ).one()
    forget_database(settings.db_url)
    return int(rows), int(distinct), int(closed)


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[str | None]:
    if args.postgres:
        if not postgres.available():
            raise SystemExit("no PostgreSQL server binaries on this machine (apt-get install postgresql)")
        with postgres.temporary_server() as url:
            yield url
    else:
        yield args.database_url


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux), to tell cost from a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid: int) -> float:
    """CPU time of the server and its worker processes (uvicorn `--workers` starts children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


@dataclass
class Cpu:
    server_s: float
    client_s: float


def _report(tally: Tally, wall: float, counted: tuple[int, int, int], label: str, cpu: Cpu) -> bool:
    latencies = sorted(tally.latencies)
    rps = len(latencies) / wall
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    rows, distinct, closed = counted
    lost = len(tally.opened) - rows
    duplicated = rows - distinct
    print(f"database: {label}")
    print(f"requests: {len(latencies)} in {wall:.1f} s ({tally.resends} resends) -> {rps:.0f} requests/s")
    print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    n = max(len(latencies), 1)
    print(
        f"cpu per request: server {cpu.server_s / n * 1000:.2f} ms, client {cpu.client_s / n * 1000:.2f} ms "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"rows: {rows} recorded for {len(tally.opened)} acknowledged orders, {closed} closed for "
        f"{len(tally.closed)} acknowledged closes: {max(lost, 0)} lost, {duplicated} duplicated"
    )
    for failure in tally.failures[:5]:
        print(f"failure: {failure}")
    sound = not tally.failures and lost == 0 and duplicated == 0 and closed == len(tally.closed)
    fast = rps >= TARGET_RPS and p99 < TARGET_P99_MS
    print(
        f"targets: >= {TARGET_RPS} requests/s and p99 < {TARGET_P99_MS} ms: {'met' if fast else 'NOT met'}; "
        f"rows {'exact' if sound else 'WRONG'}"
    )
    return sound


def main() -> int:
    parser = argparse.ArgumentParser(description="outcomes at load against a real API server")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--access-log", action="store_true", help="serve with one log line per request")
    parser.add_argument("--workers", type=int, default=1, help="server processes (`api --workers`)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="a throwaway local PostgreSQL server")
    where.add_argument("--database-url", help="an existing (empty) database to run against")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="candlelab-api-load-") as tmp, _database(args) as url:
        home = Path(tmp)
        version_ids, secret = _prepare(home, url, args.clients)
        env = {"DATABASE_URL": url} if url else {}
        serve_args = ["--workers", str(args.workers), *(["--access-log"] if args.access_log else [])]
        with serve(home, env, args=serve_args) as server:
            server_cpu, client_cpu = server_cpu_seconds(server.process.pid), time.process_time()
            tally, wall = asyncio.run(_load(server.url, secret, version_ids, args.seconds))
            cpu = Cpu(server_cpu_seconds(server.process.pid) - server_cpu, time.process_time() - client_cpu)
        label = "sqlite (WAL)" if url is None else url.split("://")[0] + " " + url.rsplit("@", 1)[-1]
        return 0 if _report(tally, wall, _rows(home, url), label, cpu) else 1


if __name__ == "__main__":
    sys.exit(main())
