"""A home for the own-markets dashboard tests: an FX hourly series imported from a TradingView
export (5 decimals), one manually activated model with a few paper trades, a finished labeler
experiment, and a 40-bar series whose automatic training fails on its input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.data import supply
from core.experiments.runner import run_experiment
from core.jobs.runner import ForegroundExecutor, JobRunner
from core.learning.samples import record_execution_outcome, update_outcome_with_pnl
from core.requests import ExperimentRequest, LabelOptions, TrainingRequest
from core.services.actors import Actor
from core.services.runs import start_training
from tests.conftest import SHARED_DATA
from tests.data.helpers import hourly_fx

GBPUSD_MT5 = SHARED_DATA / "GBPUSD_1d_mt5.csv"
FX_BARS = 2_400


def tradingview_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A TradingView "Export chart data" file: Unix seconds, lowercase prices, Volume, an indicator."""
    pd.DataFrame(
        {
            "time": frame.index.as_unit("s").asi8,
            "open": frame["Open"],
            "high": frame["High"],
            "low": frame["Low"],
            "close": frame["Close"],
            "Volume": frame["Volume"],
            "RSI": 50.0,
        }
    ).to_csv(path, index=False)
    return path


def _paper_trades(ctx: Context, version_id: int) -> None:
    with ctx.db.read() as session:
        bars = bar_store.load_bars(session, "EURUSD", "1h", limit=60)
    for i, (ts, row) in enumerate(bars.iloc[:-12:8].iterrows()):
        rec, close = ("BUY" if i % 2 == 0 else "SELL"), float(row["close"])
        sample = record_execution_outcome(
            ctx,
            symbol="EURUSD",
            timeframe="1h",
            bot="xgb_agent",
            version_id=version_id,
            recommendation=rec,
            confidence=0.62,
            entry_price=close,
            predicted_at=ts.to_pydatetime(),
            target=round(close * (1.003 if rec == "BUY" else 0.997), 5),
            stop_loss=round(close * (0.998 if rec == "BUY" else 1.002), 5),
            features={"rsi_14": 0.5},
        )
        exit_price = round(close * (1.001 if i % 3 else 0.999), 5)
        when = (ts + timedelta(hours=5)).to_pydatetime()
        update_outcome_with_pnl(ctx, sample, exit_price=exit_price, exit_time=when, exit_reason="timeout")


def build(ctx: Context, tmp: Path) -> None:
    supply.import_csv(ctx, tradingview_csv(hourly_fx(FX_BARS), tmp / "FX_EURUSD, 60.csv"), "EURUSD", "1h")
    labels = LabelOptions(lookback_days=200, samples=60, labeler="rules", sampling="uniform")
    request = TrainingRequest(
        symbol="EURUSD", timeframe="1h", kind="manual", bots=("xgb_agent",), labels=labels, activate="always"
    )
    runner = JobRunner(ctx, executor=ForegroundExecutor())  # a job row, as `train --activate` leaves
    try:
        job = start_training(runner, Actor.cli(), request)
    finally:
        runner.shutdown()
    _paper_trades(ctx, int((job.result or {})["versions"][0]["version_id"]))
    request = ExperimentRequest(
        symbol="EURUSD", timeframe="1h", labelers=("rules", "next_price"), bots=("xgb_agent",), samples=60
    )
    run_experiment(ctx, request, actor="test")
    tiny = tmp / "TINY_1d.csv"
    tiny.write_text("".join(GBPUSD_MT5.read_text().splitlines(keepends=True)[:41]))
    supply.import_csv(ctx, tiny, "TINY", "1d")
