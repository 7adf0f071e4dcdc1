"""The continuous-learning loop from the command line, on real training runs.

Train as of a past date (so 2,000+ later bars stay unseen), replay them as paper trades, then
retrain from the recorded outcomes: the new versions carry the usual metrics, and the versions
that traded gain `live_accuracy` from their closed samples.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from tests.conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite", "postgresql")]  # the learning loop on both

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TRAINED_UNTIL = NOW - timedelta(days=45)  # about 2,300 five-minute bars before NOW


def test_simulate_then_retrain_from_outcomes(cli, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKFORWARD_FOLDS", "2")  # the loop is under test, not the evaluation's folds
    ctx = Context.create(make_settings(home), logs=False)
    supply.seed_demo_series(ctx, now=NOW)
    forget_database(ctx.settings.db_url)
    trained = cli(
        "train",
        "--symbol",
        "INFY.NS",
        "--timeframe",
        "5m",
        "--bots",
        "xgb_agent,ensemble_bot",
        "--labeler",
        "rules",
        "--samples",
        "300",
        "--lookback-days",
        "40",
        "--end",
        TRAINED_UNTIL.isoformat(),
        "--activate",
        "--json",
    )
    assert trained.code == 0, trained.err
    first = {v["bot"]: v["version_id"] for v in trained.json()["versions"]}

    pair = ("--symbol", "INFY.NS", "--timeframe", "5m")
    sim = cli("simulate", *pair, "--bars", "2000", "--min-confidence", "0", "--json")
    assert sim.code == 0, sim.err
    doc = sim.json()
    assert doc["samples_recorded"] >= 200 and doc["closed"] >= 200
    assert 0.0 <= doc["live_accuracy"] <= 1.0
    assert all(b["skipped_in_sample"] == 0 and b["replayed_bars"] == 2000 for b in doc["bots"])
    again = cli("simulate", *pair, "--bars", "2000", "--json")
    assert again.json()["samples_recorded"] == 0  # a replay never records a trade twice

    samples = cli("samples", "--symbol", "INFY.NS", "--outcome", "win", "--limit", "3", "--json").json()
    assert samples["total"] > 0 and len(samples["samples"]) == 3
    assert all(s["prediction_correct"] for s in samples["samples"])

    retrained = cli("retrain", "--min-samples", "100", "--json")
    assert retrained.code == 0, retrained.err
    out = retrained.json()
    assert {r["bot"] for r in out["retrained"]} == {"xgb_agent", "ensemble_bot"}
    for item in out["retrained"]:
        for key in ("train_accuracy", "validation_accuracy", "validation_mae", "directional_accuracy"):
            assert key in item["metrics"], key
        assert item["version_id"] not in first.values()
        live = item["predecessors"][str(first[item["bot"]])]
        assert live["live_accuracy_n"] >= 100 and live["live_accuracy"] is not None
    versions = cli("versions", "--symbol", "INFY.NS", "--json").json()["versions"]
    for version in versions:
        if version["version_id"] in first.values():
            assert version["metrics"]["live_accuracy_n"] >= 100

    skipped = cli("retrain", "--min-samples", "100000", "--json").json()
    assert not skipped["retrained"]
    assert all("closed samples (needs 100000)" in s["reason"] for s in skipped["skipped"])
