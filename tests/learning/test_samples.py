"""Recording executed predictions and their outcomes (the original system's two functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.context import Context
from core.db.models import AIModelVersion
from core.errors import BadInput, NotFound
from core.learning.queries import (
    SampleFilter,
    closed_counts,
    closed_pnl,
    filter_options,
    get_sample,
    list_samples,
)
from core.learning.samples import live_accuracy_of, record_execution_outcome, update_outcome_with_pnl

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # behaviour depends on the database

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _version(ctx: Context) -> int:
    with ctx.db.session() as session:
        row = AIModelVersion(bot="xgb_agent", symbol="INFY.NS", timeframe="5m", status="ready")
        session.add(row)
        session.flush()
        return row.id


def _record(ctx: Context, version_id: int, rec: str, minute: int, **kw: object) -> int:
    return record_execution_outcome(
        ctx,
        symbol="INFY.NS",
        timeframe="5m",
        bot="xgb_agent",
        version_id=version_id,
        recommendation=rec,
        confidence=0.7,
        entry_price=100.0,
        predicted_at=T0.replace(minute=minute),
        target=102.0 if rec == "BUY" else 98.0,
        stop_loss=99.0 if rec == "BUY" else 101.0,
        features={"rsi_14": 0.55, "ret_1": float("nan")},
        **kw,
    )


def test_record_then_close_with_pnl(ctx: Context) -> None:
    v = _version(ctx)
    buy = _record(ctx, v, "BUY", 0)
    sell = _record(ctx, v, "SELL", 5)
    assert _record(ctx, v, "BUY", 0) == buy  # the same execution recorded twice is one sample
    won = update_outcome_with_pnl(ctx, buy, exit_price=102.0, exit_time=T0, exit_reason="target", quantity=10)
    assert won.pnl == pytest.approx(20.0) and won.pnl_pct == pytest.approx(0.02) and won.prediction_correct
    lost = update_outcome_with_pnl(ctx, sell, exit_price=101.0, exit_time=T0, exit_reason="stop")
    assert lost.pnl == pytest.approx(-1.0) and lost.prediction_correct is False
    again = update_outcome_with_pnl(ctx, sell, exit_price=50.0, exit_time=T0, exit_reason="stop")
    assert again.exit_price == 101.0  # the first outcome stands
    live = live_accuracy_of(ctx.db, v)
    assert (live.accuracy, live.n, live.pnl) == (0.5, 2, pytest.approx(19.0))
    assert live.ci is not None and live.ci[0] < 0.5 < live.ci[1]
    assert get_sample(ctx.db, buy)["features"] == {"rsi_14": 0.55, "ret_1": None}
    assert list_samples(ctx.db, SampleFilter(outcome="win")).total == 1
    assert list_samples(ctx.db, SampleFilter(outcome="loss")).samples[0]["id"] == sell
    assert closed_counts(ctx.db, 2) == [("INFY.NS", "5m", "xgb_agent", 2)]
    assert closed_counts(ctx.db, 3) == []


def test_bad_inputs_are_refused(ctx: Context) -> None:
    v = _version(ctx)
    with pytest.raises(BadInput, match="only BUY or SELL"):
        _record(ctx, v, "HOLD", 0)
    sample = _record(ctx, v, "BUY", 0)
    with pytest.raises(BadInput, match="exit reason"):
        update_outcome_with_pnl(ctx, sample, exit_price=101.0, exit_time=T0, exit_reason="luck")
    with pytest.raises(BadInput, match="exit price must be positive"):
        update_outcome_with_pnl(ctx, sample, exit_price=0.0, exit_time=T0, exit_reason="stop")
    with pytest.raises(NotFound):
        update_outcome_with_pnl(ctx, 999, exit_price=101.0, exit_time=T0, exit_reason="stop")
    assert list_samples(ctx.db).samples[0]["status"] == "open"


def test_paging_is_newest_first(ctx: Context) -> None:
    v = _version(ctx)
    ids = [_record(ctx, v, "BUY", m) for m in range(0, 50, 5)]
    first = list_samples(ctx.db, limit=4)
    second = list_samples(ctx.db, limit=4, offset=4)
    assert first.total == 10
    assert [s["id"] for s in first.samples + second.samples] == ids[::-1][:8]


def test_the_filter_choices_name_versions_and_the_distribution_reads_closed_samples(ctx: Context) -> None:
    v = _version(ctx)
    buy = _record(ctx, v, "BUY", 0)
    _record(ctx, v, "SELL", 5)  # still open: not in the distribution
    update_outcome_with_pnl(ctx, buy, exit_price=102.0, exit_time=T0, exit_reason="target")
    options = filter_options(ctx.db)
    assert (options.symbols, options.bots, options.version_ids) == (["INFY.NS"], ["xgb_agent"], [v])
    assert options.version_labels == {v: f"xgb_agent v{v}"}  # no number of its own: its id
    assert (options.first, options.last) == (T0, T0.replace(minute=5))
    (closed,) = closed_pnl(ctx.db, SampleFilter(symbol="INFY.NS"))
    assert (closed.pnl_pct, closed.prediction_correct, closed.bot) == (pytest.approx(0.02), True, "xgb_agent")
    assert closed_pnl(ctx.db, SampleFilter(outcome="loss")) == []
