"""Same signals, same bars, same trades: every path that trades a model's calls, side by side.

A real xgb_agent version is trained on the GOOG daily history as of mid-2008 and activated. Its
calls on the ~1,000 later bars are then traded by:
- `simulate`, in two runs as the scheduler's ticks would (the first sees bars up to a midpoint,
  the second the rest), recording samples in the database;
- the paper trader's planning (`plan_trades`) over all the bars at once;
- the version backtest (`follow_signals`) on the same signal frame;
- `metrics.reality` on the model's own predictions: the scoring that walk-forward evaluation,
  the promotion gate and the labeler experiment all run.
Every path must take the same trades: entry bar, side, exit bar, exit reason and net return.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from core.bots.dataset import build_inputs
from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.db.database import forget_database
from core.db.models import AITrainingSample
from core.evaluation.backtest import follow_signals
from core.evaluation.costs import costs_for
from core.evaluation.metrics import reality
from core.features.indicators import compute_features
from core.labeling.schema import default_horizon
from core.learning.paper_trader import simulate
from core.learning.trades import plan_trades
from core.registry.predict import active_models, batch_signals
from tests.conftest import GOOG_CSV, make_settings

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]

PAIR = ("--symbol", "GOOG", "--timeframe", "1d")
TRAINED_UNTIL = "2008-06-01"  # about 1,000 later bars stay unseen

Trade = tuple[int, int, int | None, str]  # entry bar, side, exit bar (None while open), reason


def _trades(positions, sides, exits, reasons) -> list[Trade]:
    return [
        (int(p), int(s), None if r == "open" else int(x), str(r))
        for p, s, x, r in zip(positions, sides, exits, reasons, strict=True)
    ]


def _side(recommendation: str) -> int:
    return -1 if recommendation == "SELL" else 1


def test_every_path_takes_the_same_trades_from_the_same_signals(cli, home: Path) -> None:
    # Demotion would take the version out of service between the two replays; it is not the subject.
    ctx = Context.create(make_settings(home, demotion_enabled=False), logs=False)
    supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
    forget_database(ctx.settings.db_url)
    rules = ("--labeler", "rules", "--samples", "300", "--end", TRAINED_UNTIL)
    trained = cli("train", *PAIR, "--bots", "xgb_agent", *rules, "--activate", "--json")
    assert trained.code == 0, trained.err
    version_id = trained.json()["versions"][0]["version_id"]

    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, "GOOG", "1d")
    horizon, costs = default_horizon("1d"), costs_for(ctx.settings, "GOOG")
    start = int(bars.index.searchsorted(pd.Timestamp(TRAINED_UNTIL, tz="UTC"), side="right"))
    positions = np.arange(start, len(bars))
    signals = batch_signals(ctx, "GOOG", "1d", bars, positions=positions, bots=["xgb_agent"])["xgb_agent"]
    side = signals["recommendation"].map({"BUY": 1, "SELL": -1, "HOLD": 0}).to_numpy()
    assert (side > 0).sum() > 20 and (side < 0).sum() > 20

    # simulate, as two ticks: the first sees the bars up to the midpoint, the second all of them.
    midpoint = bars.index[start + (len(bars) - start) // 2].to_pydatetime()
    # As the scheduler's tick does (`walkforward=False`): only the version's own model trades, so
    # no walk-forward fold call inside its training window joins the trades compared here.
    first = simulate(ctx, "GOOG", "1d", min_confidence=0.0, end=midpoint, walkforward=False)
    assert first.bots[0].skipped_in_sample == start  # trades begin on the first unseen bar
    second = simulate(ctx, "GOOG", "1d", min_confidence=0.0, walkforward=False)
    assert first.samples_recorded > 0 and second.samples_recorded > 0 and second.closed > 0
    with ctx.db.read() as session:
        query = select(AITrainingSample).where(AITrainingSample.version_id == version_id)
        samples = session.scalars(query.order_by(AITrainingSample.predicted_at)).all()

    def bar_of(time: object) -> int:
        return int(bars.index.get_indexer([bar_store.as_utc(time)])[0])

    recorded = _trades(
        [bar_of(s.predicted_at) for s in samples],
        [_side(s.recommendation) for s in samples],
        [None if s.exit_time is None else bar_of(s.exit_time) for s in samples],
        [s.exit_reason or "open" for s in samples],
    )
    recorded_returns = np.array([s.pnl_pct for s in samples if s.status == "closed"], dtype="float64")

    # The paper trader's planning over all the bars at once.
    planned = plan_trades(bars, signals, start=start, horizon=horizon, min_confidence=0.0, costs=costs)
    paper = _trades(
        [t.position for t in planned],
        [_side(t.recommendation) for t in planned],
        [t.exit_position for t in planned],
        [t.exit_reason or "open" for t in planned],
    )

    # The version backtest on the signal frame, and the scoring of evaluation, gate and experiment.
    target, stop = signals["target"].to_numpy(), signals["stop_loss"].to_numpy()
    backtest = follow_signals(bars, positions, side, target, stop, horizon, costs).ledger
    model = active_models(ctx, "GOOG", "1d", ["xgb_agent"])[0]["xgb_agent"].bot
    inputs = build_inputs(bars, positions, features=compute_features(bars), feature_names=model.feature_names)
    scored = reality(bars, positions, horizon, model.predict(inputs), costs).backtest.ledger
    account = _trades(backtest.position, backtest.direction, backtest.exit_position, backtest.reason)
    scoring = _trades(scored.position, scored.direction, scored.exit_position, scored.reason)

    closed = [t for t in paper if t[3] != "open"]
    assert len(closed) > 20 and {t[3] for t in closed} >= {"target", "stop"}
    assert recorded == paper
    assert account == scoring == closed
    assert recorded_returns == pytest.approx(backtest.net_return, rel=1e-9)
    assert scored.net_return.tolist() == backtest.net_return.tolist()
