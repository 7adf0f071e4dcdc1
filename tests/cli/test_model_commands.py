"""`train`, `versions`, `activate`, `rollback` as users run them: a real process, one JSON document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.cli.app import main
from core.db.models import TrainingJob
from core.jobs.store import create_job, finish_job
from core.logging_setup import reset_logging
from core.requests import TrainingRequest
from tests.bots.helpers import store_hindsight_set
from tests.conftest import REPO

CONTRACT_METRICS = (
    "train_accuracy",
    "validation_accuracy",
    "validation_mae",
    "directional_accuracy",
    "baseline_directional_accuracy",
)
ALL_BOTS = ("xgb_agent", "ensemble_bot", "lstm_bot", "transformer_bot")


def run_cli(home: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "CANDLELAB_HOME": str(home), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "core", *args, "--json"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, json.loads(done.stdout), done.stderr  # json.loads fails on any stray line


def run_in_process(home: Path, capsys, monkeypatch, *args: str) -> tuple[int, dict[str, Any], str]:
    """The same entry point without a new interpreter, for the quick error paths."""
    monkeypatch.setenv("CANDLELAB_HOME", str(home))
    monkeypatch.chdir(home)
    capsys.readouterr()
    try:
        code = main([*args, "--json"])
    finally:
        reset_logging()
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def job_count(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(TrainingJob))


def one_active_per_bot(versions: list[dict[str, Any]]) -> dict[str, int]:
    active: dict[str, list[int]] = {}
    for v in versions:
        if v["is_active"]:
            active.setdefault(v["bot"], []).append(v["version_id"])
    assert all(len(ids) == 1 for ids in active.values()), active
    return {bot: ids[0] for bot, ids in active.items()}


@pytest.mark.slow
def test_train_activate_versions_rollback_on_goog(goog_ctx, home):
    code, doc, err = run_cli(
        home, "train", "--symbol", "GOOG", "--timeframe", "1d", "--labeler", "hindsight", "--samples", "300"
    )
    assert code == 0, err
    assert "AI training started" in err and "Successfully trained transformer_bot" in err
    assert sorted(v["bot"] for v in doc["versions"]) == sorted(ALL_BOTS) and doc["wall_s"] > 0
    for version in doc["versions"]:
        for key in CONTRACT_METRICS:
            assert isinstance(version["metrics"][key], float), key
        assert version["metrics"]["directional_accuracy_n"] > 30
    with goog_ctx.db.read() as session:
        job = session.get(TrainingJob, doc["job_id"])
        assert (job.kind, job.status, job.label_set_id) == ("manual", "succeeded", doc["label_set_id"])

    # Without evidence of beating the baseline nothing goes live on its own; the verdict says why.
    for version in doc["versions"]:
        assert not version["activated"] and version["gate_verdict"] in ("no_evidence", "below_baseline")
        assert version["gate"]["evidence"]["effective_n"] == version["metrics"]["directional_effective_n"]
    code, listed, _ = run_cli(home, "versions", "--symbol", "GOOG", "--timeframe", "1d")
    assert one_active_per_bot(listed["versions"]) == {}
    assert sorted(v["bot_version"] for v in listed["versions"]) == [1, 1, 1, 1]

    label_set = str(doc["label_set_id"])
    pair = ("--symbol", "GOOG", "--timeframe", "1d")
    code, again, err = run_cli(
        home, "train", *pair, "--bots", "xgb_agent", "--label-set", label_set, "--activate"
    )
    assert code == 0, err
    newer = again["versions"][0]
    assert newer["activated"] and newer["bot_version"] == 2
    assert newer["gate_reason"].startswith("activation requested (the gate alone:")
    code, listed, _ = run_cli(home, "versions", "--symbol", "GOOG", "--timeframe", "1d")
    assert one_active_per_bot(listed["versions"]) == {"xgb_agent": newer["version_id"]}
    other = next(v["version_id"] for v in doc["versions"] if v["bot"] == "xgb_agent")

    code, switched, err = run_cli(home, "activate", str(other))
    assert code == 0, err
    assert switched == {"version_id": other, "previous_active_id": newer["version_id"]}
    code, listed, _ = run_cli(home, "versions", "--bot", "xgb_agent")
    assert one_active_per_bot(listed["versions"]) == {"xgb_agent": other}
    assert {"version_id", "bot", "symbol", "timeframe", "created_at", "is_active", "metrics"} <= set(
        listed["versions"][0]
    )
    code, back, err = run_cli(home, "rollback", "--symbol", "GOOG", "--timeframe", "1d", "--bot", "xgb_agent")
    assert code == 0, err
    assert back == {"version_id": newer["version_id"], "previous_active_id": other}


@pytest.mark.slow
def test_train_with_rules_labels(goog_ctx, home):
    code, doc, err = run_cli(
        home,
        "train",
        "--symbol",
        "GOOG",
        "--timeframe",
        "1d",
        "--labeler",
        "rules",
        "--bots",
        "xgb_agent,lstm_bot",
    )
    assert code == 0, err
    assert [v["bot"] for v in doc["versions"]] == ["xgb_agent", "lstm_bot"]
    for version in doc["versions"]:
        for key in CONTRACT_METRICS:
            assert isinstance(version["metrics"][key], float), key


def test_bad_requests_write_nothing(goog_ctx, home, capsys, monkeypatch):
    tiny = store_hindsight_set(goog_ctx, "GOOG", "1d", horizon=10, samples=12)
    for args, message in (
        (("--bots", "xgb_agent,svm"), "unknown bot 'svm'"),
        (("--label-set", "999"), "label set 999 does not exist"),
        (("--label-set", str(tiny)), "has 12 usable labels"),
        (("--label-set", str(tiny), "--samples", "10"), "either a label set or labeling options"),
    ):
        code, doc, err = run_in_process(
            home, capsys, monkeypatch, "train", "--symbol", "GOOG", "--timeframe", "1d", *args
        )
        assert code == 2 and message in doc["error"]["message"] and message in err
    assert job_count(goog_ctx) == 0
    code, doc, _ = run_in_process(home, capsys, monkeypatch, "activate", "12345")
    assert code == 2 and "does not exist" in doc["error"]["message"]


def test_a_second_training_of_the_same_pair_is_refused(goog_ctx, home, capsys, monkeypatch):
    label_set = store_hindsight_set(goog_ctx, "GOOG", "1d", horizon=10, samples=200)
    busy = TrainingRequest(symbol="GOOG", timeframe="1d", kind="quick", bots=("xgb_agent",))
    job = create_job(goog_ctx.db, busy, status="running")
    code, doc, _ = run_cli(
        home, "train", "--symbol", "GOOG", "--timeframe", "1d", "--label-set", str(label_set)
    )
    assert code == 1 and f"already queued or running (job {job.job_id})" in doc["error"]["message"]
    finish_job(goog_ctx.db, job.job_id, "cancelled")
    assert job_count(goog_ctx) == 1
