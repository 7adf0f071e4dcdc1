"""The labeler experiment from the command line, its stored result and read model, and the
`next_price` labeler (the original system's label) on hand-made bars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core.access import audit
from core.access.audit import AuditFilter
from core.context import Context
from core.db.models import Experiment, ExperimentResult, LabelSet
from core.features.indicators import compute_features
from core.labeling.next_price import NextPriceLabeler
from core.views.experiments import experiment_page
from tests.conftest import GOOG_CSV, make_settings

ROW_KEYS = {
    "directional_accuracy",
    "directional_accuracy_n",
    "directional_accuracy_ci",
    "directional_effective_n",
    "baseline_directional_accuracy",
    "directional_edge_p_value",
    "pnl",
    "pnl_ci",
    "trades",
    "max_drawdown",
    "price_error",
    "price_error_baseline",
    "equity_curve",
    "costs",
    "validation_accuracy",
}


@pytest.fixture
def goog_cli(cli: Callable[..., Any]) -> Callable[..., Any]:
    assert cli("data", "import", GOOG_CSV, "--symbol", "GOOG", "--timeframe", "1d", "--json").code == 0
    return cli


def _counts(home: Path) -> tuple[int, int, int]:
    ctx = Context(make_settings(home))
    with ctx.db.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(t))
            for t in (Experiment, ExperimentResult, LabelSet)
        )  # type: ignore[return-value]


def test_next_price_labels_the_next_close():
    close = np.array([100.0] * 60 + [101.0, 99.0, 99.0, 102.0])
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC")
    bars = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )
    records = NextPriceLabeler().label(bars, compute_features(bars), np.array([59, 60, 61, 62, 63]))
    assert [r.recommendation for r in records[:4]] == ["BUY", "SELL", "HOLD", "BUY"]
    assert [r.target for r in records[:2]] == [101.0, 99.0] and records[0].stop_loss == 99.0
    assert all(r.accepted and r.horizon_bars == 1 and r.confidence == 1.0 for r in records[:4])
    assert records[4].status == "rejected" and records[4].reject_reason == "no next bar yet"


@pytest.mark.slow
@pytest.mark.backends("sqlite", "postgresql")  # label sets, their quality rows and the experiment's JSON
def test_experiment_compares_labelers_on_the_same_bars_and_can_be_reopened(goog_cli, home: Path):
    run = goog_cli(
        "experiment",
        "--symbol",
        "GOOG",
        "--timeframe",
        "1d",
        "--labelers",
        "rules,next_price",
        "--bots",
        "xgb_agent",
        "--samples",
        "120",
        "--folds",
        "3",
        "--json",
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert {"experiment_id", "rows", "comparisons"} <= set(doc) and doc["status"] == "succeeded"
    assert [(r["labeler"], r["bot"]) for r in doc["rows"]] == [
        ("rules", "xgb_agent"),
        ("next_price", "xgb_agent"),
    ]
    first, second = (r["metrics"] for r in doc["rows"])
    for metrics in (first, second):
        assert set(metrics) >= ROW_KEYS and "confidence_calibration" not in metrics
        assert metrics["directional_accuracy_n"] > 1000 and metrics["folds"] == 3
    # The same bars, the same folds and costs: only the labels differ.
    for key in ("directional_accuracy_n", "directional_effective_n", "fold_cuts", "heldout_start", "costs"):
        assert first[key] == second[key], key
    assert first["baseline_directional_accuracy"] == second["baseline_directional_accuracy"]
    (cmp,) = doc["comparisons"]
    assert (cmp["bot"], cmp["a"], cmp["b"]) == ("xgb_agent", "rules", "next_price")
    assert 0.0 <= cmp["p_value"] <= 1.0 and cmp["pairs"] == first["directional_effective_n"]
    assert cmp["pnl_difference"] == pytest.approx(first["pnl"] - second["pnl"], abs=1e-5)
    lo, hi = cmp["pnl_difference_ci"]
    assert lo <= hi
    assert set(doc["label_sets"]) == {"rules", "next_price"}

    reopened = goog_cli("experiments", "--id", str(doc["experiment_id"]), "--json").json()
    assert reopened["rows"] == doc["rows"] and reopened["comparisons"] == doc["comparisons"]
    listed = goog_cli("experiments", "--json").json()["experiments"]
    assert [e["experiment_id"] for e in listed] == [doc["experiment_id"]]
    text = goog_cli("experiments", "--id", str(doc["experiment_id"]))
    assert "rules vs next_price" in text.out and "next_price  xgb_agent" in text.out

    page = experiment_page(Context(make_settings(home)), doc["experiment_id"])
    assert list(page.table["labeler"]) == ["rules", "next_price"] and len(page.comparisons) == 1
    assert set(page.equity) == {"rules · xgb_agent", "next_price · xgb_agent"}
    assert all(len(curve) > 10 for curve in page.equity.values())
    (row,) = audit.entries(Context(make_settings(home)).db, AuditFilter(action="experiment"))
    assert (row.actor_kind, row.target, row.outcome) == ("cli", "GOOG 1d", "succeeded")
    assert row.detail == {"experiment_id": doc["experiment_id"]}


def test_bad_experiment_requests_write_nothing(goog_cli, home: Path):
    pair = ("--symbol", "GOOG", "--timeframe", "1d")
    before = _counts(home)
    for args, message in (
        (("--labelers", "rules"), "at least two labelers"),
        (("--labelers", "rules,astrology"), "unknown labeler 'astrology'"),
        (("--labelers", "rules,llm"), "LLM"),
        (("--labelers", "rules,next_price", "--samples", "10"), "--samples: an experiment needs at least 40"),
        (("--labelers", "rules,next_price", "--bots", "svm"), "unknown bot 'svm'"),
        (
            ("--labelers", "rules,next_price", "--folds", "0"),
            "--folds: Input should be greater than or equal to 1",
        ),
        (
            ("--labelers", "rules,next_price", "--lookback-days", "-1"),
            "--lookback-days: must be a positive number",
        ),
        (("--labelers", "rules,next_price", "--lookback-days", "20"), "an experiment needs at least"),
    ):
        run = goog_cli("experiment", *pair, *args, "--json")
        assert run.code == 2, (args, run.out)
        assert message in run.json()["error"]["message"], (args, run.out)
    assert _counts(home) == before
    huge = goog_cli("experiments", "--id", "99999999999999999999", "--json")
    assert huge.code == 2 and "--id: Input should be less than or equal to" in huge.json()["error"]["message"]
    missing = goog_cli("experiments", "--id", "4242", "--json")
    assert missing.code == 2 and "experiment 4242 does not exist" in missing.json()["error"]["message"]
