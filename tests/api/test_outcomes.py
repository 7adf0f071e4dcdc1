"""Executed signals and their P&L through a real server: one row per order id whatever the
retries, 409 for a retry that differs, and bad bodies that answer 4xx and write nothing."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.context import Context
from core.db.database import forget_database
from core.db.models import AIModelVersion
from tests import postgres
from tests.api import live
from tests.conftest import make_settings

BAR = "2024-05-03T00:00:00+00:00"


def _version(home: Path, database_url: str | None = None) -> int:
    """A registered version to attribute executions to (outcomes never load its model)."""
    settings = make_settings(home, database_url=database_url)
    ctx = Context.create(settings, logs=False)
    with ctx.db.session() as session:
        row = AIModelVersion(bot="xgb_agent", symbol="GBPUSD", timeframe="1d", status="ready")
        session.add(row)
        session.flush()
        version_id = row.id
    forget_database(settings.db_url)
    return version_id


def execution(version_id: int, order_id: str = "eng-1", **changes: Any) -> dict[str, Any]:
    body = {
        "order_id": order_id,
        "version_id": version_id,
        "recommendation": "BUY",
        "confidence": 0.71,
        "entry_price": 1.25311,
        "predicted_at": BAR,
        "target": 1.26400,
        "stop_loss": 1.24800,
        "predicted_return": 0.0087,
        "features": {"rsi_14": 0.61, "ret_1": -0.0012, "volume_z": None},
    }
    return {**body, **changes}


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-outcomes")


@pytest.fixture(scope="module")
def version_id(api_home: Path) -> int:
    return _version(api_home)


@pytest.fixture(scope="module")
def server(api_home: Path, version_id: int) -> Iterator[live.LiveServer]:
    with live.serve(api_home) as running:
        yield running


@pytest.fixture(scope="module")
def http(api_home: Path, server: live.LiveServer) -> Iterator[httpx.Client]:
    token = live.create_token(api_home, "desk-engine", "read,outcomes")
    with server.client(token) as client:
        assert client.get("/ai/models").status_code == 200  # "last used" is written now, not later
        yield client


def dump(home: Path) -> str:
    with sqlite3.connect(home / "candlelab.db") as conn:
        return "\n".join(conn.iterdump())


def test_a_retried_execution_returns_the_same_record_and_a_different_one_is_409(
    http: httpx.Client, version_id: int
) -> None:
    first = http.post("/ai/outcomes", json=execution(version_id))
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["order_id"] == "eng-1" and record["replayed"] is False
    assert (record["symbol"], record["timeframe"], record["bot"]) == ("GBPUSD", "1d", "xgb_agent")
    assert record["source"] == "live" and record["status"] == "open"
    assert record["features"] == {"rsi_14": 0.61, "ret_1": -0.0012, "volume_z": None}
    again = http.post("/ai/outcomes", json=execution(version_id))
    assert again.status_code == 200
    assert again.json() == {**record, "replayed": True}
    differs = http.post("/ai/outcomes", json=execution(version_id, entry_price=1.25400))
    assert differs.status_code == 409
    assert "entry_price" in differs.json()["error"]["message"]
    other_order = http.post("/ai/outcomes", json=execution(version_id, order_id="eng-1b"))
    assert other_order.status_code == 409  # the same call of the same version is one sample
    assert "already recorded as order 'eng-1'" in other_order.json()["error"]["message"]
    listed = http.get("/ai/training-samples", params={"symbol": "gbpusd"}).json()
    assert listed["total"] == 1 and listed["samples"][0]["id"] == record["id"]


def test_closing_is_idempotent_and_a_conflicting_close_is_409(http: httpx.Client, version_id: int) -> None:
    opened = http.post("/ai/outcomes", json=execution(version_id, "eng-2", predicted_at="2024-05-02"))
    assert opened.status_code == 201, opened.text
    close = {
        "exit_price": 1.264,
        "exit_time": "2024-05-08T00:00:00Z",
        "exit_reason": "target",
        "quantity": 1000,
    }
    closed = http.post("/ai/outcomes/eng-2/close", json=close)
    assert closed.status_code == 200, closed.text
    row = closed.json()
    assert row["status"] == "closed" and row["replayed"] is False and row["prediction_correct"] is True
    assert row["pnl"] == pytest.approx((1.264 - 1.25311) * 1000)
    assert row["exit_time"].startswith("2024-05-08T00:00:00")
    retry = http.post("/ai/outcomes/eng-2/close", json=close)
    assert retry.status_code == 200 and retry.json() == {**row, "replayed": True}
    for change in ({"exit_price": 1.265}, {"quantity": 2000}, {"exit_reason": "manual"}, {"pnl": 1.0}):
        reply = http.post("/ai/outcomes/eng-2/close", json={**close, **change})
        assert reply.status_code == 409, change
        assert reply.json()["error"]["type"] == "conflict"
    assert http.get("/ai/training-samples", params={"outcome": "win"}).json()["total"] == 1


def test_a_broker_pnl_is_kept_as_reported(http: httpx.Client, version_id: int) -> None:
    sell = execution(
        version_id, "eng-3", recommendation="SELL", predicted_at="2024-05-01", target=1.24, stop_loss=1.26
    )
    assert http.post("/ai/outcomes", json=sell).status_code == 201
    close = {"exit_price": 1.2535, "exit_time": "2024-05-02T09:30:00+02:00", "exit_reason": "timeout"}
    reply = http.post("/ai/outcomes/eng-3/close", json={**close, "pnl": -4.2, "quantity": 100})
    assert reply.status_code == 200, reply.text
    row = reply.json()
    assert row["pnl"] == -4.2 and row["prediction_correct"] is False  # the price rose against the SELL
    assert row["pnl_pct"] == pytest.approx(-4.2 / (1.25311 * 100))
    assert row["exit_time"].startswith("2024-05-02T07:30:00")  # stored in UTC


BAD_EXECUTIONS = [
    ("missing fields", {"order_id": "x-1"}, 422),
    ("not a number", {"confidence": "high"}, 422),
    ("confidence above 1", {"confidence": 1.5}, 422),
    ("non-positive price", {"entry_price": 0}, 422),
    ("a flag for a number", {"confidence": True}, 422),
    ("text for an id", {"version_id": "1"}, 422),
    ("an implausible price", {"entry_price": 1e308}, 422),
    ("a year 0001", {"predicted_at": "0001-01-01T00:00:00Z"}, 422),
    ("a year 9999", {"predicted_at": "9999-12-31T00:00:00Z"}, 422),
    ("a day that does not exist", {"predicted_at": "2023-02-29"}, 422),
    ("a HOLD is never executed", {"recommendation": "HOLD"}, 422),
    ("an order id that cannot be a path", {"order_id": "a/b"}, 422),
    ("an order id too long", {"order_id": "a" * 65}, 422),
    ("an unknown field", {"quantity": 3}, 422),
    ("no such version", {"version_id": 999_999}, 404),
    ("a version id out of range", {"version_id": 2**64}, 422),
    ("too many features", {"features": {f"f{i}": 0.0 for i in range(501)}}, 422),
    ("a feature that is not a number", {"features": {"rsi_14": "high"}}, 422),
    ("an unknown source", {"source": "backtest"}, 422),
    ("not a time", {"predicted_at": "yesterday"}, 422),
]


@pytest.mark.parametrize(("why", "change", "status"), BAD_EXECUTIONS, ids=[b[0] for b in BAD_EXECUTIONS])
def test_a_bad_execution_answers_4xx_and_writes_nothing(
    api_home: Path, http: httpx.Client, version_id: int, why: str, change: dict[str, Any], status: int
) -> None:
    before = dump(api_home)
    body = change if why == "missing fields" else {**execution(version_id, "bad-1"), **change}
    reply = http.post("/ai/outcomes", json=body)
    assert reply.status_code == status, reply.text
    assert set(reply.json()) == {"error"} and set(reply.json()["error"]) == {"message", "type"}
    assert dump(api_home) == before


def test_bodies_that_are_not_json_or_too_large_write_nothing(api_home: Path, http: httpx.Client) -> None:
    before = dump(api_home)
    raw = {
        "not JSON": b"{order_id: 1",
        "NaN is not JSON's": json.dumps(execution(1, "nan-1", entry_price=float("nan"))).encode(),
        "a list": b"[]",
        "empty": b"",
    }
    for why, content in raw.items():
        reply = http.post("/ai/outcomes", content=content, headers={"Content-Type": "application/json"})
        assert reply.status_code == 422, (why, reply.text)
        assert reply.json()["error"]["type"] == "validation_error"
    huge = b'{"order_id": "big", "features": {' + b'"f": 0.0, ' * 120_000 + b'"g": 1}}'
    reply = http.post("/ai/outcomes", content=huge, headers={"Content-Type": "application/json"})
    assert reply.status_code == 413 and reply.json()["error"]["type"] == "payload_too_large"
    assert dump(api_home) == before


def test_bad_closes_answer_4xx_and_write_nothing(api_home: Path, http: httpx.Client, version_id: int) -> None:
    assert (
        http.post("/ai/outcomes", json=execution(version_id, "eng-4", predicted_at="2024-04-30")).status_code
        == 201
    )
    before = dump(api_home)
    good = {"exit_price": 1.26, "exit_time": "2024-05-03T00:00:00Z", "exit_reason": "target"}
    cases = [
        ("eng-4", {**good, "exit_reason": "luck"}, 422),
        ("eng-4", {**good, "exit_price": -1}, 422),
        ("eng-4", {**good, "quantity": 0}, 422),
        ("eng-4", {**good, "exit_time": "2024-04-29T00:00:00Z"}, 409),  # before the stored call's bar
        ("eng-4", {"exit_price": 1.26}, 422),
        ("no-such-order", good, 404),
        ("bad!id", good, 422),
    ]
    for order_id, body, status in cases:
        reply = http.post(f"/ai/outcomes/{order_id}/close", json=body)
        assert reply.status_code == status, (order_id, body, reply.text)
    assert dump(api_home) == before


def test_concurrent_retries_of_one_order_make_one_row(
    api_home: Path, server: live.LiveServer, http: httpx.Client, version_id: int
) -> None:
    token = http.headers["Authorization"].removeprefix("Bearer ")
    body = execution(version_id, "race-1", predicted_at="2024-04-01")
    close = {"exit_price": 1.2, "exit_time": "2024-04-05T00:00:00Z", "exit_reason": "stop"}

    def post(path: str, payload: dict[str, Any]) -> httpx.Response:
        with server.client(token) as client:
            return client.post(path, json=payload)

    with ThreadPoolExecutor(12) as pool:
        opened = list(pool.map(lambda _: post("/ai/outcomes", body), range(12)))
        closed = list(pool.map(lambda _: post("/ai/outcomes/race-1/close", close), range(12)))
    assert {r.status_code for r in opened} <= {200, 201} and {r.json()["id"] for r in opened} == {
        opened[0].json()["id"]
    }
    assert {r.status_code for r in closed} == {200}
    assert len({(r.json()["pnl"], r.json()["closed_at"]) for r in closed}) == 1
    with sqlite3.connect(api_home / "candlelab.db") as conn:
        rows = conn.execute("SELECT count(*) FROM ai_training_samples WHERE order_id = 'race-1'").fetchone()
    assert rows == (1,)


def test_samples_page_and_filter(http: httpx.Client) -> None:
    everything = http.get("/ai/training-samples").json()
    assert everything["total"] >= 4
    page = http.get("/ai/training-samples", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == everything["total"]
    assert [s["id"] for s in page["samples"]] == [s["id"] for s in everything["samples"][1:3]]
    assert "features" not in page["samples"][0] or page["samples"][0]["features"] is None
    with_features = http.get("/ai/training-samples", params={"limit": 1, "features": "true"}).json()
    assert isinstance(with_features["samples"][0]["features"], dict)
    assert http.get("/ai/training-samples", params={"symbol": "EURUSD"}).json() == {"total": 0, "samples": []}
    for params in (
        {"limit": -1},
        {"limit": 10_001},
        {"offset": -1},
        {"outcome": "draw"},
        {"timeframe": "7m"},
    ):
        reply = http.get("/ai/training-samples", params=params)
        assert reply.status_code == 422, (params, reply.text)


@pytest.mark.skipif(
    not postgres.available() and not os.environ.get("CANDLELAB_REQUIRE_POSTGRES"),
    reason="no PostgreSQL server binaries on this machine",
)
def test_the_same_guarantees_on_postgresql(tmp_path: Path) -> None:
    with postgres.temporary_server() as url:
        assert live.cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": url})[0] == 0
        version_id = _version(tmp_path, url)
        env = {"DATABASE_URL": url}
        token = live.create_token(tmp_path, "pg-engine", "outcomes", env=env)
        with live.serve(tmp_path, env) as server, server.client(token) as client:
            body = execution(version_id, "pg-1")
            assert client.post("/ai/outcomes", json=body).status_code == 201
            assert client.post("/ai/outcomes", json=body).status_code == 200
            assert client.post("/ai/outcomes", json={**body, "confidence": 0.2}).status_code == 409
            close = {"exit_price": 1.26, "exit_time": "2024-05-06T00:00:00Z", "exit_reason": "target"}
            first = client.post("/ai/outcomes/pg-1/close", json=close)
            assert first.status_code == 200 and first.json()["replayed"] is False
            assert client.post("/ai/outcomes/pg-1/close", json=close).json() == {
                **first.json(),
                "replayed": True,
            }
            assert (
                client.post("/ai/outcomes/pg-1/close", json={**close, "exit_price": 1.3}).status_code == 409
            )
