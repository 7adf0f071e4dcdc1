"""The API keeps its word: what its OpenAPI schema says is what it does, checked by an outside fuzzer.

Schemathesis (4.x) runs against the live server (uvicorn on 127.0.0.1) with `--checks all`, once
with an all-scope token and once with a read-only one, on a home with real bars and a real
trained model; plus the edges a fuzzer does not reach: a token checked before the body is read,
every malformed body answering the one documented 422, strict types, plausible bounds, a retried
close that replays, and no absolute path of the server's machine in what a client reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.context import Context
from core.db.models import TrainingJob
from tests.api import live
from tests.conftest import GOOG_CSV, make_settings

# Jobs the fuzzer starts stay small (one fast bot, few points, one worker process).
SMALL_JOBS = {
    "QUICK_BOTS": "xgb_agent",
    "QUICK_SAMPLES": "20",
    "FULL_BOTS": "xgb_agent",
    "FULL_SAMPLES": "20",
    "JOB_WORKERS": "1",
}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("api-contract")
    code, _doc, err = live.cli(home, "data", "import", str(GOOG_CSV), "--symbol", "GOOG", "--timeframe", "1d")
    assert code == 0, err
    train = "train --symbol GOOG --timeframe 1d --bots xgb_agent --labeler rules --samples 60"
    code, _doc, err = live.cli(home, *train.split(), "--lookback-days", "3000", "--activate")
    assert code == 0, err
    return home


@pytest.fixture(scope="module")
def tokens(api_home: Path) -> dict[str, str]:
    return {
        "all": live.create_token(api_home, "fuzz-all", "read,train,activate,outcomes"),
        "read": live.create_token(api_home, "fuzz-read", "read"),
    }


@pytest.fixture(scope="module")
def server(api_home: Path, tokens: dict[str, str]) -> Iterator[live.LiveServer]:
    with live.serve(api_home, env=SMALL_JOBS) as running:
        yield running


def _fuzz(server: live.LiveServer, token: str, seed: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server.url}/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            "15",
            "--seed",
            str(seed),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=server.home,
        env=env,
    )


@pytest.mark.parametrize("scope", ["all", "read"])
def test_schemathesis_finds_nothing(server: live.LiveServer, tokens: dict[str, str], scope: str) -> None:
    run = _fuzz(server, tokens[scope], seed=7)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout and "failure" not in run.stdout.split("SUMMARY")[-1].lower(), report
    assert server.process.poll() is None  # nothing the fuzzer sent took the server down


def test_the_token_is_checked_before_the_body_is_read(server: live.LiveServer) -> None:
    with server.client() as anonymous, server.client("cl_not-a-real-token") as forged:
        for client in (anonymous, forged):
            for body in (b"\xff\xfe not utf-8", b"{" * 5000, b"[1, 2"):
                reply = client.post(
                    "/ai/outcomes", content=body, headers={"Content-Type": "application/json"}
                )
                assert reply.status_code == 401, reply.text
                assert reply.json()["error"]["type"] == "unauthorized"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe not utf-8", b"[" * 100_000 + b"]" * 100_000, b'{"order_id": ', b"[]", b'"text"', b"null"],
    ids=["bad utf-8", "too deep", "cut short", "a list", "a string", "null"],
)
def test_every_malformed_body_answers_the_one_422(
    server: live.LiveServer, tokens: dict[str, str], body: bytes
) -> None:
    with server.client(tokens["all"]) as client:
        reply = client.post("/ai/outcomes", content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert (
        set(reply.json()["error"]) == {"message", "type"}
        and reply.json()["error"]["type"] == "validation_error"
    )


def test_a_body_too_big_is_413_as_documented(server: live.LiveServer, tokens: dict[str, str]) -> None:
    with server.client(tokens["all"]) as client:
        reply = client.post(
            "/ai/outcomes", content=b" " * 1_000_001, headers={"Content-Type": "application/json"}
        )
        schema = client.get("/openapi.json").json()
    assert reply.status_code == 413 and reply.json()["error"]["type"] == "payload_too_large"
    assert "413" in schema["paths"]["/ai/outcomes"]["post"]["responses"]


def test_a_retried_close_at_the_largest_figures_replays(
    server: live.LiveServer, tokens: dict[str, str]
) -> None:
    with server.client(tokens["all"]) as client:
        version = client.get("/ai/models").json()["versions"][0]["version_id"]
        opened = client.post(
            "/ai/outcomes",
            json={
                "order_id": "big-1",
                "version_id": version,
                "recommendation": "BUY",
                "confidence": 0.7,
                "entry_price": 1e-9,
                "predicted_at": "2013-02-01T00:00:00Z",
                "target": 1e9,
                "stop_loss": 1e-9,
            },
        )
        assert opened.status_code == 201, opened.text
        close = {"exit_price": 1e9, "exit_time": "2013-02-05", "exit_reason": "target", "quantity": 1e9}
        first = client.post("/ai/outcomes/big-1/close", json=close)
        again = client.post("/ai/outcomes/big-1/close", json=close)
    assert first.status_code == 200 and again.status_code == 200, (first.text, again.text)
    assert first.json()["pnl"] == again.json()["pnl"] and again.json()["replayed"] is True


def test_a_read_client_sees_no_absolute_path(
    api_home: Path, server: live.LiveServer, tokens: dict[str, str]
) -> None:
    """A failure that names a file is told by the file's name, never by where the server keeps it."""
    where = api_home.resolve() / "models" / "GOOG" / "xgb_agent-1.ubj"
    settings = make_settings(api_home)
    ctx = Context.create(settings, logs=False)
    with ctx.db.session() as session:
        job = TrainingJob(
            kind="full",
            symbol="GOOG",
            timeframe="1d",
            status="failed",
            error=f"artifact {where} is missing (checked against its SHA-256)",
        )
        session.add(job)
        session.flush()
        job_id = job.id
    with server.client(tokens["read"]) as client:
        listed = client.get("/api/ai-training/status")
        one = client.get("/api/ai-training/status", params={"job_id": job_id})
    for reply in (listed, one):
        assert reply.status_code == 200 and "xgb_agent-1.ubj is missing" in reply.text, reply.text
        assert str(api_home.resolve()) not in reply.text and str(api_home) not in reply.text
