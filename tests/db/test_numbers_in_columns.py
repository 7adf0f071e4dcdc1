"""NaN and infinities never reach a column, on SQLite and PostgreSQL alike.

Pending labels (whose horizon runs past the last bar) carry no outcome; stored as NaN they made
PostgreSQL refuse the whole label-quality update (`integer out of range`) while SQLite took it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Float, Integer, func, select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import configure_mappers

from core.context import Context
from core.db.models import Base, Label, LabelSet, TrainingJob
from core.db.types import FiniteFloat, FiniteInteger, FiniteJSON
from core.training.service import train_pair as train
from tests.bots.helpers import random_walk

pytestmark = pytest.mark.backends("sqlite", "postgresql")

T0 = datetime(2024, 1, 2, tzinfo=UTC)


def _label_set(ctx: Context) -> int:
    with ctx.db.session() as session:
        row = LabelSet(symbol="X", timeframe="1h", labeler="rules", sampling="uniform")
        session.add(row)
        session.flush()
        return row.id


def _raw_json(ctx: Context, column: str, label_id: int) -> object:
    """The column's stored text parsed as strict JSON (no NaN or Infinity tokens)."""
    with ctx.db.read() as session:
        raw = session.execute(
            text(f"SELECT CAST({column} AS TEXT) FROM labels WHERE id = :i"), {"i": label_id}
        )
        stored = raw.scalar_one()

    def refuse(token: str) -> None:
        raise AssertionError(f"{column} holds the non-JSON token {token}")

    return json.loads(stored, parse_constant=refuse)


@pytest.mark.backends("sqlite")  # a property of the models, the same whatever the database
def test_every_number_and_json_column_of_every_table_is_guarded() -> None:
    configure_mappers()  # as the first query would; foreign keys get their types by then
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if column.primary_key:
                continue
            guarded = isinstance(column.type, FiniteFloat | FiniteInteger | FiniteJSON)
            plain = isinstance(column.type, Float | Integer) or type(column.type).__name__ == "JSON"
            assert guarded or not plain, f"{table.name}.{column.name} has no NaN guard"
            if guarded:
                assert column.type.nullable == column.nullable, f"{table.name}.{column.name}"


def test_nan_and_infinities_are_stored_as_null_where_the_column_allows(ctx: Context) -> None:
    set_id = _label_set(ctx)
    context = {"rsi": math.nan, "levels": [math.inf, 1.5, np.float32(2.5)], "n": np.int64(3), "ok": True}
    with ctx.db.session() as session:
        label = Label(
            label_set_id=set_id,
            ts=T0,
            status="accepted",
            current_price=100.0,
            target=math.inf,
            stop_loss=np.float64("-inf"),
            confidence=np.float64("nan"),
            horizon_bars=np.int64(12),
            outcome_bars=math.nan,
            outcome_return=-math.inf,
            context=context,
        )
        session.add(label)
        session.flush()
        label_id = label.id
    with ctx.db.read() as session:
        row = session.get(Label, label_id)
        assert (row.target, row.stop_loss, row.confidence, row.outcome_bars, row.outcome_return) == (
            None,
        ) * 5
        assert row.horizon_bars == 12 and type(row.horizon_bars) is int
        assert row.context == {"rsi": None, "levels": [None, 1.5, 2.5], "n": 3, "ok": True}
    assert _raw_json(ctx, "context", label_id) == {
        "rsi": None,
        "levels": [None, 1.5, 2.5],
        "n": 3,
        "ok": True,
    }


def test_bulk_update_of_pending_outcomes_stores_null(ctx: Context) -> None:
    """The very statement that failed on PostgreSQL: a bulk UPDATE by primary key."""
    set_id = _label_set(ctx)
    with ctx.db.session() as session:
        session.add_all(
            Label(label_set_id=set_id, ts=T0.replace(hour=h), status="accepted", current_price=1.0)
            for h in (1, 2)
        )
    with ctx.db.read() as session:
        ids = list(session.scalars(select(Label.id).order_by(Label.id)))
    with ctx.db.session() as session:
        session.execute(
            update(Label),
            [
                {
                    "id": ids[0],
                    "outcome": "target_first",
                    "outcome_bars": np.int64(7),
                    "outcome_return": 0.01,
                },
                {"id": ids[1], "outcome": "pending", "outcome_bars": np.nan, "outcome_return": np.nan},
            ],
        )
    with ctx.db.read() as session:
        rows = session.execute(
            select(Label.outcome, Label.outcome_bars, Label.outcome_return).order_by(Label.id)
        )
        assert [tuple(r) for r in rows] == [("target_first", 7, 0.01), ("pending", None, None)]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("current_price", math.nan, "labels.current_price cannot store nan: the column is required"),
        ("current_price", np.float64("inf"), "labels.current_price cannot store"),
        ("horizon_bars", 2.5, "labels.horizon_bars holds whole numbers; refusing 2.5"),
    ],
)
def test_a_required_or_whole_number_column_refuses_with_a_clear_error(
    ctx: Context, column: str, value: float, message: str
) -> None:
    set_id = _label_set(ctx)
    fields = {"current_price": 1.0, column: value}
    with pytest.raises(StatementError, match=message), ctx.db.session() as session:
        session.add(Label(label_set_id=set_id, ts=T0, status="accepted", **fields))
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Label)) == 0  # nothing was written


def test_metrics_json_with_nan_is_valid_json_null(ctx: Context) -> None:
    with ctx.db.session() as session:
        job = TrainingJob(kind="manual", symbol="X", timeframe="1h", status="succeeded")
        job.result = {"metrics": {"ic": math.nan, "ci": (math.inf, 0.2)}, "pnl": np.float64(0.5)}
        session.add(job)
        session.flush()
        job_id = job.id
    with ctx.db.read() as session:
        stored = session.execute(
            text("SELECT CAST(result AS TEXT) FROM training_jobs WHERE id = :i"), {"i": job_id}
        ).scalar_one()
    assert "NaN" not in stored and "Infinity" not in stored
    assert json.loads(stored) == {"metrics": {"ic": None, "ci": [None, 0.2]}, "pnl": 0.5}


@pytest.mark.slow
def test_quick_training_on_fresh_intraday_bars_stores_pending_labels(ctx: Context) -> None:
    """The chart view's quick training on INFY.NS 5m: the newest labels are still pending."""
    labeling = {"lookback_days": 14, "samples": 50, "labeler": "rules", "sampling": "mixed", "refresh": True}
    result = train(
        ctx, "INFY.NS", "5m", bots=["xgb_agent"], labeling=labeling, bot_params={"xgb_agent": {"rounds": 20}}
    )
    assert result.versions
    with ctx.db.read() as session:
        pending = session.execute(
            select(Label.outcome_bars, Label.outcome_return).where(
                Label.label_set_id == result.label_set_id, Label.outcome == "pending"
            )
        ).all()
    assert pending and all(row == (None, None) for row in pending)


@pytest.mark.slow
def test_train_with_end_on_an_imported_hourly_series(cli, tmp_path: Path) -> None:
    bars = random_walk(1200, 3, vol=0.004, start="2024-01-01", freq="h")
    csv = tmp_path / "EURUSD_1h.csv"
    bars.rename(columns=str.capitalize).rename_axis("Datetime").to_csv(csv)
    assert cli("data", "import", csv, "--symbol", "EURUSD", "--timeframe", "1h", "--json").code == 0
    end = bars.index[-5].isoformat()
    run = cli(
        "train",
        "--symbol",
        "EURUSD",
        "--timeframe",
        "1h",
        "--bots",
        "xgb_agent",
        "--labeler",
        "rules",
        "--samples",
        "60",
        "--lookback-days",
        "40",
        "--end",
        end,
        "--json",
    )
    assert run.code == 0, run.err
    assert run.json()["versions"]
