"""The original system's training routes and a trading engine's loop, through a real server on a
series imported from a trader's own export (GBP/USD daily, MetaTrader 5 format).

Jobs started through the API answer at once and finish in the server's runner; their versions
show up in `/ai/models`, their activations and jobs carry the token's name, and the example
paper engine trades the calls end to end.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from core.access import audit
from core.access.audit import AuditFilter
from core.context import Context
from core.db.database import forget_database
from core.registry import gate
from core.registry.activation import history
from core.registry.versions import get_version
from tests.api import live
from tests.conftest import GOOG_CSV, REPO, SHARED_DATA, make_settings
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow

GBPUSD_MT5 = SHARED_DATA / "GBPUSD_1d_mt5.csv"
SERVER_ENV = {"QUICK_BOTS": "xgb_agent", "QUICK_SAMPLES": "60", "QUICK_LOOKBACK_DAYS": "3000"}
SMALL_RUN = {"lookback_days": 400, "sample_points": 60, "labeler": "rules"}


def _ohlcv_from_mt5(path: Path, target: Path) -> Path:
    """The trader's MT5 export (epoch seconds, tick volume) as the OHLCV CSV the importer reads."""
    raw = pd.read_csv(path)
    frame = pd.DataFrame(
        {
            "Date": pd.to_datetime(raw["time"], unit="s", utc=True).dt.strftime("%Y-%m-%d"),
            "Open": raw["open"],
            "High": raw["high"],
            "Low": raw["low"],
            "Close": raw["close"],
            "Volume": raw["tick_volume"],
        }
    )
    frame.to_csv(target, index=False)
    return target


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("api-training")
    gbp = _ohlcv_from_mt5(GBPUSD_MT5, home / "GBPUSD_1d.csv")
    for path, symbol in ((gbp, "GBPUSD"), (GOOG_CSV, "GOOG")):
        code, _, err = live.cli(home, "data", "import", str(path), "--symbol", symbol, "--timeframe", "1d")
        assert code == 0, err
    return home


@pytest.fixture(scope="module")
def server(api_home: Path) -> Iterator[live.LiveServer]:
    with live.serve(api_home, SERVER_ENV) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(api_home: Path, server: live.LiveServer) -> dict[str, str]:
    return {
        "trainer": live.create_token(api_home, "trainer", "read,train"),
        "activator": live.create_token(api_home, "desk-lead", "read,activate"),
        "engine": live.create_token(api_home, "paper-engine", "read,outcomes"),
    }


@pytest.fixture(scope="module")
def trainer(server: live.LiveServer, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with server.client(tokens["trainer"]) as client:
        yield client


def wait_for_job(http: httpx.Client, job_id: int, timeout: float = 240.0) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        reply = http.get("/api/ai-training/status", params={"job_id": job_id})
        assert reply.status_code == 200, reply.text
        job = reply.json()["jobs"][0]
        return dict(job) if job["status"] not in ("queued", "running") else None

    return wait_until(ended, timeout=timeout, interval=0.25, message=f"job {job_id} to end")


def dump(home: Path) -> str:
    with sqlite3.connect(home / "candlelab.db") as conn:
        return "\n".join(conn.iterdump())


def test_generate_dataset_answers_at_once_and_its_versions_show_up(trainer: httpx.Client) -> None:
    body = {"symbol": "gbpusd", "timeframe": "1d", "bot_names": ["xgb_agent", "ensemble_bot"], **SMALL_RUN}
    started = time.perf_counter()
    reply = trainer.post("/api/ai-training/generate-dataset", json=body)
    assert time.perf_counter() - started < 5.0  # nothing holds the request while it trains
    assert reply.status_code == 202, reply.text
    assert reply.json()["kind"] == "full" and reply.json()["status"] in ("queued", "running")
    job = wait_for_job(trainer, reply.json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["requested_by"] == "trainer" and job["progress"] == 1.0
    made = {v["bot"]: v["version_id"] for v in job["result"]["versions"]}
    assert set(made) == {"xgb_agent", "ensemble_bot"}
    listed = trainer.get("/ai/models", params={"symbol": "GBPUSD", "timeframe": "1d"}).json()["versions"]
    assert {v["version_id"] for v in listed} == set(made.values())
    for version in listed:
        metrics = version["metrics"]
        assert {"directional_accuracy", "baseline_directional_accuracy", "validation_accuracy"} <= set(
            metrics
        )
        assert metrics["directional_accuracy_n"] > 0
    only_xgb = trainer.get("/ai/models", params={"bot": "xgb_agent"}).json()["versions"]
    assert [v["version_id"] for v in only_xgb] == [made["xgb_agent"]]
    recent = trainer.get("/api/ai-training/status").json()["jobs"]
    assert recent[0]["job_id"] == job["job_id"] and recent[0]["result"] is None


def test_a_label_only_dataset_is_a_label_job(trainer: httpx.Client) -> None:
    body = {"symbol": "GBPUSD", "timeframe": "1d", "use_for_training": False, **SMALL_RUN}
    reply = trainer.post("/api/ai-training/generate-dataset", json=body)
    assert reply.status_code == 202 and reply.json()["kind"] == "label"
    job = wait_for_job(trainer, reply.json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["label_set_id"] is not None and job["result"]["labeled"] > 0
    assert len(trainer.get("/ai/models", params={"symbol": "GBPUSD"}).json()["versions"]) == 2


# What the schema rules out answers 422; a well-formed request the store cannot serve answers 404
# (no such series) or 409 (what is stored rules it out), as the OpenAPI schema says.
BAD_BODIES = [
    ({"bot_names": ["random_forest"]}, "bot_names", 422),
    ({"bot_names": []}, "bot_names", 422),
    ({"sample_points": 0}, "sample_points", 422),
    ({"sample_points": True}, "sample_points", 422),
    ({"sample_points": "70"}, "sample_points", 422),
    ({"lookback_days": -3}, "lookback_days", 422),
    ({"labeler": "oracle"}, "labeler", 422),
    ({"timeframe": "7m"}, "timeframe", 422),
    ({"symbol": "NOPE"}, "NOPE", 404),
    ({"symbol": "two words"}, "symbol", 422),
    ({"symbol": ""}, "symbol", 422),
    ({"lookback_days": 3}, "not enough bars", 409),
    ({"use_for_training": "maybe"}, "use_for_training", 422),
    ({"use_for_training": 1}, "use_for_training", 422),
    ({"epochs": 3}, "epochs", 422),
]


def test_bad_training_bodies_answer_4xx_and_write_nothing(api_home: Path, trainer: httpx.Client) -> None:
    before = dump(api_home)
    for change, named, status in BAD_BODIES:
        body = {"symbol": "GBPUSD", "timeframe": "1d", "bot_names": ["xgb_agent"], **SMALL_RUN, **change}
        reply = trainer.post("/api/ai-training/generate-dataset", json=body)
        assert reply.status_code == status, (change, reply.text)
        assert named in reply.json()["error"]["message"], (change, reply.text)
    forced = {"symbol": "GBPUSD", "timeframe": "1d", "force": "yes"}
    assert trainer.post("/api/ai-training/trigger-for-active-symbol", json=forced).status_code == 422
    for params in ({"min_samples": 0}, {"min_samples": "many"}):
        assert trainer.post("/ai/retrain", params=params).status_code == 422
    assert (
        trainer.post("/api/ai-training/trigger-for-active-symbol", json={"symbol": "GOOG"}).status_code == 422
    )
    assert trainer.get("/api/ai-training/status", params={"status": "done"}).status_code == 422
    assert trainer.get("/api/ai-training/status", params={"job_id": 999}).status_code == 404
    assert dump(api_home) == before


def test_activation_is_recorded_under_the_token_name(
    api_home: Path, server: live.LiveServer, trainer: httpx.Client, tokens: dict[str, str]
) -> None:
    reply = trainer.post(
        "/api/ai-training/generate-dataset",
        json={
            "symbol": "GBPUSD",
            "timeframe": "1d",
            "bot_names": ["xgb_agent"],
            **SMALL_RUN,
            "sample_points": 70,
        },
    )
    assert wait_for_job(trainer, reply.json()["job_id"])["status"] == "succeeded"
    versions = trainer.get("/ai/models", params={"symbol": "GBPUSD", "bot": "xgb_agent"}).json()["versions"]
    assert len(versions) == 2
    for version in versions:  # what the promotion gate read and decided, on every version
        assert version["gate_verdict"] in gate.VERDICTS and version["gate_reason"]
        evidence = version["evidence"]
        assert evidence["directional_effective_n"] == version["metrics"]["directional_effective_n"] > 0
        assert evidence["has_evidence"] is (version["gate_verdict"] in ("promote", "keep_active"))
        assert evidence["calibration"] in ("isotonic", "constant", "none")
    assert [v["bot_version"] for v in versions] == [2, 1]
    # Nothing goes live without evidence, so the desk lead switches by hand: first one, then the other.
    live_now = [v["version_id"] for v in versions if v["is_active"]]
    first = live_now[0] if live_now else versions[1]["version_id"]
    other = next(v["version_id"] for v in versions if v["version_id"] != first)
    refused = trainer.post(f"/ai/activate-model/{other}")
    assert refused.status_code == 403 and "'activate' scope" in refused.json()["error"]["message"]
    with server.client(tokens["activator"]) as lead:
        if not live_now:
            assert lead.post(f"/ai/activate-model/{first}").json()["previous_active_id"] is None
        switched = lead.post(f"/ai/activate-model/{other}", json={"reason": "better on the desk's review"})
        assert switched.status_code == 200, switched.text
        assert switched.json() == {"version_id": other, "previous_active_id": first}
        assert lead.post("/ai/activate-model/999999").status_code == 404
        assert lead.post("/ai/activate-model/0").status_code == 422
    ctx = Context.create(make_settings(api_home), migrate=False, logs=False)
    latest = history(ctx.db, "GBPUSD", "1d", "xgb_agent")[0]
    assert (latest["version_id"], latest["actor"], latest["reason"]) == (
        other,
        "desk-lead",
        "better on the desk's review",
    )
    rows = audit.entries(ctx.db, AuditFilter(action="activate"))
    assert (rows[0].actor, rows[0].actor_kind, rows[0].outcome) == ("desk-lead", "token", "succeeded")
    named = f"{get_version(ctx.db, other).label} of GBPUSD 1d"
    assert rows[0].target == named and rows[0].detail["previous_active_id"] == first
    assert [(r.actor, r.outcome, r.target) for r in rows if r.outcome == "refused"] == [
        ("trainer", "refused", f"POST /ai/activate-model/{other}")
    ]
    trained = audit.entries(ctx.db, AuditFilter(action="train", actor="trainer"))
    assert trained and all(r.actor_kind == "token" and r.outcome == "succeeded" for r in trained)
    forget_database(ctx.settings.db_url)


def test_signals_carry_their_version_and_validity(server: live.LiveServer, tokens: dict[str, str]) -> None:
    with server.client(tokens["engine"]) as engine:
        answer = engine.get("/ai/signals", params={"symbol": "GBPUSD", "timeframe": "1d"}).json()
        models = engine.get("/ai/models", params={"symbol": "GBPUSD"}).json()["versions"]
        none_live = engine.get("/ai/signals", params={"symbol": "TCS.NS", "timeframe": "5m"}).json()
        assert engine.get("/ai/signals", params={"symbol": "GBPUSD", "timeframe": "2h"}).status_code == 422
        assert engine.get("/ai/signals", params={"symbol": "GBPUSD"}).status_code == 422
    active = {v["bot"]: v["version_id"] for v in models if v["is_active"]}
    assert {s["bot"]: s["version_id"] for s in answer["signals"]} == active
    assert answer["as_of"].startswith("2024-05-03") and answer["horizon_bars"] == 10
    for signal in answer["signals"]:
        as_of, until = datetime.fromisoformat(signal["as_of"]), datetime.fromisoformat(signal["valid_until"])
        assert until - as_of == timedelta(days=10)
        assert signal["stale"] is True  # the export ends in May 2024: no engine may act on it now
        assert signal["recommendation"] in ("BUY", "SELL", "HOLD") and 0 <= signal["confidence"] <= 1
        made_by = next(v for v in models if v["version_id"] == signal["version_id"])
        assert (signal["bot_version"], signal["gate_verdict"]) == (
            made_by["bot_version"],
            made_by["gate_verdict"],
        )
        assert signal["evidence"] == made_by["evidence"] and 0 <= signal["raw_confidence"] <= 1
    assert "refresh the bars" in answer["reason"]
    assert 0 <= answer["features"]["rsi_14"] <= 1
    assert none_live["signals"] == [] and "no version of TCS.NS 5m is live" in none_live["reason"]


def test_the_chart_view_trigger_starts_once_then_reads_fresh(trainer: httpx.Client) -> None:
    pair = {"symbol": "GOOG", "timeframe": "1d"}
    first = trainer.post("/api/ai-training/trigger-for-active-symbol", json=pair).json()
    assert first["started"] is True and first["reason"].startswith("stale"), first
    second = trainer.post("/api/ai-training/trigger-for-active-symbol", json=pair).json()
    assert second["started"] is False and second["state"] in ("busy", "fresh"), second
    job = wait_for_job(trainer, first["job_id"])
    assert job["status"] == "succeeded" and job["kind"] == "quick", job["error"]
    assert job["requested_by"] == "trainer"
    fresh = trainer.post("/api/ai-training/trigger-for-active-symbol", json=pair).json()
    assert (fresh["started"], fresh["state"]) == (False, "fresh")


def _record_closed(engine: httpx.Client, version_id: int, days: list[str]) -> None:
    for i, day in enumerate(days):
        body = {
            "order_id": f"retrain-{i}",
            "version_id": version_id,
            "recommendation": "BUY",
            "confidence": 0.6,
            "entry_price": 800.0,
            "predicted_at": day,
            "target": 810.0,
            "stop_loss": 795.0,
            "source": "paper",
        }
        assert engine.post("/ai/outcomes", json=body).status_code == 201
        close = {"exit_price": 810.0, "exit_time": f"{day}T23:00:00Z", "exit_reason": "target"}
        assert engine.post(f"/ai/outcomes/retrain-{i}/close", json=close).status_code == 200


def test_retrain_starts_a_job_per_ready_pair_and_says_why_others_wait(
    server: live.LiveServer, trainer: httpx.Client, tokens: dict[str, str]
) -> None:
    assert trainer.post("/ai/retrain").json() == {
        "job_ids": [],
        "skipped": [{"reason": "no closed training samples yet: POST /ai/outcomes and close them first"}],
    }
    # GOOG: a retrain fetches fresh bars first, and the offline provider produces GOOG's.
    goog = trainer.get("/ai/models", params={"symbol": "GOOG", "bot": "xgb_agent"}).json()["versions"]
    with server.client(tokens["engine"]) as engine:
        _record_closed(engine, goog[0]["version_id"], ["2013-02-26", "2013-02-27", "2013-02-28"])
    waiting = trainer.post("/ai/retrain", params={"min_samples": 1000}).json()
    assert waiting["job_ids"] == []
    why = "no bot has 1000 closed samples yet"
    assert waiting["skipped"] == [{"symbol": "GOOG", "timeframe": "1d", "reason": why}]
    started = trainer.post("/ai/retrain", params={"min_samples": 3})
    assert started.status_code == 202 and len(started.json()["job_ids"]) == 1
    job = wait_for_job(trainer, started.json()["job_ids"][0])
    assert job["status"] == "succeeded" and job["kind"] == "retrain", job["error"]
    assert job["requested_by"] == "trainer"
    assert job["result"]["retrained"] or job["result"]["skipped"]  # three samples may be too few to train


def test_the_example_paper_engine_trades_the_calls_end_to_end(
    api_home: Path, server: live.LiveServer, tokens: dict[str, str]
) -> None:
    with server.client(tokens["activator"]) as lead:  # the chart-view version, live by a person's choice
        goog = lead.get("/ai/models", params={"symbol": "GOOG", "bot": "xgb_agent"}).json()["versions"]
        if not any(v["is_active"] for v in goog):
            assert lead.post(f"/ai/activate-model/{goog[0]['version_id']}").status_code == 200
    with server.client(tokens["engine"]) as engine:
        before = engine.get("/ai/training-samples", params={"symbol": "GOOG"}).json()["total"]
        calls = engine.get("/ai/signals", params={"symbol": "GOOG", "timeframe": "1d"}).json()["signals"]
    tradable = [c for c in calls if c["recommendation"] in ("BUY", "SELL")]
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "paper_engine.py"),
            *("--api", server.url, "--symbol", "GOOG", "--timeframe", "1d", "--steps", "30"),
            *("--poll-seconds", "0", "--min-confidence", "0", "--accept-stale", "--resend-rate", "0.5"),
        ],
        env={**live.child_env(api_home), "CANDLELAB_API_TOKEN": tokens["engine"]},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["opened"] == len(tradable) and summary["closed"] == len(tradable) and summary["open"] == 0
    assert tokens["engine"] not in proc.stdout + proc.stderr
    with server.client(tokens["engine"]) as engine:
        recorded = engine.get("/ai/training-samples", params={"symbol": "GOOG", "limit": 100}).json()
    assert recorded["total"] == before + len(tradable)  # resent posts made no second row
    mine = [s for s in recorded["samples"] if (s["order_id"] or "").startswith("paper-")]
    assert len(mine) == len(tradable) and all(
        s["status"] == "closed" and s["source"] == "paper" for s in mine
    )
    assert sum(s["pnl"] for s in mine) == pytest.approx(summary["pnl"])
