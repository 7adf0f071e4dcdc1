"""The learning loop closes offline on an analyst's own hourly export, with the default settings.

A fresh home imports 18,000 hourly bars of a series with a real, modest edge (the CSV import
path), opens the chart (`trigger`: quick training through the promotion gate), replays with
`simulate`'s defaults (the walk-forward fold models' calls on bars they never saw), retrains from
the closed outcomes, and replays a saved version on a range it saw (nothing counted) and on
newer bars (its own model).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.context import Context
from core.data.planted import planted_edge, write_csv
from core.jobs import store as job_store
from core.registry.versions import get_version
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

PAIR = ("--symbol", "EDGE", "--timeframe", "1h")


def _wait(ctx: Context, job_id: int, timeout: float = 600.0) -> job_store.JobView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_store.get_job(ctx.db, job_id)
        if job.status not in job_store.ACTIVE_STATUSES:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job_store.get_job(ctx.db, job_id).status}")


def test_trigger_simulate_retrain_on_an_imported_hourly_export(cli, home: Path, tmp_path: Path) -> None:
    bars = planted_edge(11).bars
    older, full = tmp_path / "EDGE_older.csv", tmp_path / "EDGE_full.csv"
    write_csv(bars.iloc[:18_000], str(older))
    write_csv(bars, str(full))
    assert cli("data", "import", older, *PAIR, "--json").json()["rows"] == 18_000

    started = cli("trigger", *PAIR, "--json").json()
    assert started["started"], started
    ctx = Context.create(make_settings(home), logs=False)
    job = _wait(ctx, started["job_id"])
    assert job.status == "succeeded", job.error
    trained = {v["bot"]: v for v in job.result["versions"]}
    assert set(trained) == {"ensemble_bot", "lstm_bot"}
    for version in trained.values():
        assert version["metrics"]["directional_effective_n"] >= 300  # the history, not 14 days alone
        # Every training row's labeler is on record: the analyst's newest points, hindsight elsewhere.
        lineage = get_version(ctx.db, version["version_id"]).lineage
        sets = lineage["label_sets"]
        assert [s["labeler"] for s in sets] == ["rules", "hindsight"]
        assert sets[0]["labels"] > 0 and sets[1]["labels"] > 1000
        assert sum(s["labels"] for s in sets) == lineage["labels"]

    sim = cli("simulate", *PAIR, "--json")
    assert sim.code == 0, sim.err
    doc = sim.json()
    assert doc["closed"] > 0 and doc["samples_recorded"] >= doc["closed"]
    for bot in doc["bots"]:
        # Trained through the newest bar: every replayed bar was called by a fold model that never saw it.
        assert bot["walkforward_bars"] > 0 and bot["replayed_bars"] == 0
        assert bot["walkforward_bars"] + bot["skipped_in_sample"] == 2000
    assert cli("simulate", *PAIR, "--json").json()["samples_recorded"] == 0  # never twice

    retrained = cli("retrain", "--min-samples", "1", "--json")
    assert retrained.code == 0, retrained.err
    made = retrained.json()["retrained"]
    assert made and all(entry["version_id"] for entry in made)
    versions = cli("versions", *PAIR, "--json").json()["versions"]
    assert {v["version_id"] for v in versions} >= {entry["version_id"] for entry in made}

    # A saved version replayed on a range it saw: nothing traded, every bar counted as skipped.
    first = trained["ensemble_bot"]["version_id"]
    seen_from, seen_to = bars.index[17_000].isoformat(), bars.index[17_999].isoformat()
    seen = cli("simulate", "--version", first, "--start", seen_from, "--end", seen_to, "--json")
    assert seen.code == 0, seen.err
    (bot,) = seen.json()["bots"]
    assert bot["opened"] == 0 and bot["skipped_in_sample"] == 1000 and bot["replayed_bars"] == 0
    assert "not traded" in seen.err
    # Newer bars arrive: the same version's own model trades them, and only them.
    assert cli("data", "import", full, *PAIR, "--json").json()["rows"] == 20_000
    newer = cli("simulate", "--version", first, "--start", bars.index[17_000].isoformat(), "--json")
    (bot,) = newer.json()["bots"]
    assert bot["replayed_bars"] == 2_000 and bot["skipped_in_sample"] == 1_000
    assert bot["walkforward_bars"] == 0 and bot["chosen"] == "requested"
    assert cli("simulate", "--version", 999_999, "--json").code == 2
    assert cli("simulate", "--version", first, "--symbol", "GOOG", "--json").code == 2  # not its pair
