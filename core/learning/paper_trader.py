"""The paper trader: replays bars through the active models and records both ends of every trade.

Honest by construction: a version only trades bars after the last bar of its training data
window (its lineage), so every recorded outcome is out of sample. Re-running over the same bars
resumes where the version left off and never records a trade twice; positions left open are
closed as soon as later bars decide them (`advance`, the scheduler's tick, does exactly that
with fresh bars). Trades are chosen and filled by the version backtest's one trade rule
(`core.evaluation.trade_rule`): one position per version at a time, so a replay split over
several runs takes the same trades as one run over all the bars.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from core.context import Context
from core.data import store as bar_store
from core.data import supply as data_service
from core.db.models import AITrainingSample
from core.errors import BadInput, NoActiveModel
from core.evaluation.costs import TradingCosts, costs_for
from core.evaluation.trade_rule import STILL_OPEN
from core.features.indicators import FEATURE_COLUMNS, compute_features
from core.labeling.schema import default_horizon
from core.learning import demotion
from core.learning.samples import live_accuracy_of, record_execution_outcome, update_outcome_with_pnl
from core.learning.trades import PaperTrade, close_position, plan_trades
from core.registry.predict import HISTORY_BARS, active_models, batch_signals
from core.registry.versions import VersionView
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)


@dataclass
class BotReplay:
    bot: str
    version_id: int
    replayed_bars: int = 0
    skipped_in_sample: int = 0
    opened: int = 0
    closed: int = 0
    pnl: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__, pnl=round(self.pnl, 6))


@dataclass
class SimulationResult:
    symbol: str
    timeframe: str
    bots: list[BotReplay] = field(default_factory=list)
    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def samples_recorded(self) -> int:
        return sum(b.opened for b in self.bots)

    @property
    def closed(self) -> int:
        return sum(b.closed for b in self.bots)

    @property
    def pnl(self) -> float:
        return sum(b.pnl for b in self.bots)

    @property
    def live_accuracy(self) -> float | None:
        hits = sum((v["live_accuracy"] or 0) * v["live_accuracy_n"] for v in self.live.values())
        n = sum(v["live_accuracy_n"] for v in self.live.values())
        return hits / n if n else None

    def summary(self) -> str:
        return f"{self.samples_recorded} opened, {self.closed} closed, P&L {self.pnl:+.2f}"

    def as_json(self) -> dict[str, Any]:
        accuracy = self.live_accuracy
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "samples_recorded": self.samples_recorded,
            "closed": self.closed,
            "pnl": round(self.pnl, 6),
            "live_accuracy": None if accuracy is None else round(accuracy, 4),
            "bots": [b.as_json() for b in self.bots],
            "live": self.live,
            "errors": self.errors,
        }


def _training_end(version: VersionView) -> pd.Timestamp | None:
    last = (version.lineage.get("data_window") or {}).get("last_bar")
    return pd.Timestamp(last) if last else None


def _close_open_samples(
    ctx: Context, version_id: int, bars: pd.DataFrame, horizon: int, costs: TradingCosts
) -> tuple[int, float]:
    """Decide open positions that the bars now settle; returns (closed, pnl)."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(
                AITrainingSample.id,
                AITrainingSample.predicted_at,
                AITrainingSample.recommendation,
                AITrainingSample.target,
                AITrainingSample.stop_loss,
                AITrainingSample.entry_price,
            ).where(AITrainingSample.version_id == version_id, AITrainingSample.status == "open")
        ).all()
    closed, pnl = 0, 0.0
    for sample_id, predicted_at, rec, target, stop, entry in rows:
        pos = bars.index.get_indexer([pd.Timestamp(predicted_at)])[0]
        if pos < 0 or target is None or stop is None:
            continue
        exit_ = close_position(bars, int(pos), rec, target, stop, horizon, entry_price=entry, costs=costs)
        if exit_ is None:
            continue
        exit_pos, price, reason, fees = exit_
        sample = update_outcome_with_pnl(
            ctx,
            sample_id,
            exit_price=price,
            exit_time=bars.index[exit_pos].to_pydatetime(),
            exit_reason=reason,
            fees=fees,
            review=False,
        )
        closed += 1
        pnl += sample.pnl or 0.0
    return closed, pnl


def _open_exits(ctx: Context, version_id: int, bars: pd.DataFrame) -> tuple[list[int], pd.Timestamp | None]:
    """Exit bars of this version's recorded trades that are still open or end inside `bars`, and the
    time of its newest recorded entry (replays resume after it)."""
    with ctx.db.read() as session:
        newest = session.scalar(
            select(func.max(AITrainingSample.predicted_at)).where(AITrainingSample.version_id == version_id)
        )
        open_rows = session.execute(
            select(AITrainingSample.status, AITrainingSample.exit_time).where(
                AITrainingSample.version_id == version_id,
                (AITrainingSample.status == "open") | (AITrainingSample.exit_time >= bars.index[0]),
            )
        ).all()
    exits = []
    for status, exit_time in open_rows:
        if status == "open" or exit_time is None:
            exits.append(STILL_OPEN)
        else:
            exits.append(int(bars.index.searchsorted(pd.Timestamp(exit_time))))
    newest_utc = bar_store.as_utc(newest)
    return exits, pd.Timestamp(newest_utc) if newest_utc else None


def _record(
    ctx: Context, symbol: str, tf: str, name: str, version_id: int, trade: PaperTrade, features: pd.DataFrame
) -> float:
    sample_id = record_execution_outcome(
        ctx,
        symbol=symbol,
        timeframe=tf,
        bot=name,
        version_id=version_id,
        recommendation=trade.recommendation,
        confidence=trade.confidence,
        entry_price=trade.entry_price,
        predicted_at=trade.entry_time.to_pydatetime(),
        target=trade.target,
        stop_loss=trade.stop_loss,
        predicted_return=trade.predicted_return,
        features=features.iloc[trade.position][list(FEATURE_COLUMNS)].to_dict(),
    )
    if not trade.closed:
        return 0.0
    sample = update_outcome_with_pnl(
        ctx,
        sample_id,
        exit_price=float(trade.exit_price),  # type: ignore[arg-type]
        exit_time=trade.exit_time.to_pydatetime(),  # type: ignore[union-attr]
        exit_reason=str(trade.exit_reason),
        fees=trade.fees,
        review=False,
    )
    return sample.pnl or 0.0


@dataclass(frozen=True)
class _Replay:
    """One replay of a pair's bars, bot by bot."""

    ctx: Context
    symbol: str
    tf: str
    history: pd.DataFrame
    features: pd.DataFrame
    replay_from: int
    horizon: int
    threshold: float
    costs: TradingCosts

    def _start(self, version: VersionView, replay: BotReplay) -> tuple[int, list[int]]:
        """The first bar this version may trade (after its training window and its last trade)."""
        start = self.replay_from
        trained_until = _training_end(version)
        if trained_until is not None:
            first_unseen = int(self.history.index.searchsorted(trained_until, side="right"))
            replay.skipped_in_sample = max(0, first_unseen - self.replay_from)
            start = max(start, first_unseen)
        exits, newest = _open_exits(self.ctx, version.version_id, self.history)
        if newest is not None:
            start = max(start, int(self.history.index.searchsorted(newest, side="right")))
        return start, exits

    def bot(self, name: str, version: VersionView) -> BotReplay:
        replay = BotReplay(name, version.version_id)
        closed, pnl = _close_open_samples(
            self.ctx, version.version_id, self.history, self.horizon, self.costs
        )
        replay.closed += closed
        replay.pnl += pnl
        start, exits = self._start(version, replay)
        replay.replayed_bars = max(0, len(self.history) - start)
        if not replay.replayed_bars:
            return replay
        positions = np.arange(start, len(self.history))
        signals = batch_signals(
            self.ctx,
            self.symbol,
            self.tf,
            self.history,
            positions=positions,
            bots=[name],
            features=self.features,
        ).get(name)
        if signals is None:
            return replay
        trades = plan_trades(
            self.history,
            signals,
            start=start,
            horizon=self.horizon,
            min_confidence=self.threshold,
            existing_exits=exits,
            costs=self.costs,
        )
        for trade in trades:
            replay.pnl += _record(
                self.ctx, self.symbol, self.tf, name, version.version_id, trade, self.features
            )
            replay.opened += 1
            replay.closed += int(trade.closed)
        return replay


def simulate(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    bars: int = 2000,
    min_confidence: float | None = None,
    end: datetime | None = None,
) -> SimulationResult:
    """Replay the newest `bars` bars (at or before `end`) through every active bot of the pair."""
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    if bars < 1:
        raise BadInput("--bars must be at least 1")
    models, errors = active_models(ctx, symbol, tf)
    if not models and not errors:
        raise NoActiveModel(
            f"{symbol} {tf} has no active model; train one first "
            f"(`python -m core train --symbol {symbol} --timeframe {tf}`)"
        )
    threshold = ctx.settings.paper_confidence_threshold if min_confidence is None else min_confidence
    horizon = default_horizon(tf)
    costs = costs_for(ctx.settings, symbol)
    with ctx.db.read() as session:
        history = bar_store.load_bars(session, symbol, tf, end=end, limit=bars + HISTORY_BARS)
    if history.empty:
        raise BadInput(f"no stored bars for {symbol} {tf}")
    features = compute_features(history)
    replay_from = max(len(history) - bars, 0)
    result = SimulationResult(symbol, tf, errors=dict(errors))
    replay = _Replay(ctx, symbol, tf, history, features, replay_from, horizon, threshold, costs)
    for name, model in sorted(models.items()):
        version = model.version
        result.bots.append(replay.bot(name, version))
        demoted = demotion.review(ctx, version.version_id)
        with ctx.db.read() as session:
            result.live[name] = live_accuracy_of(session, version.version_id).as_metrics()
        if demoted:
            result.live[name]["demoted"] = demoted
    log.info("paper trading %s %s: %s", symbol, tf, result.summary())
    return result


def advance(ctx: Context, symbol: str, timeframe: str, *, window: int = 5000) -> SimulationResult:
    """The live tick: fetch new bars, close what they settle, trade the bars no version has seen."""
    data_service.fetch(ctx, symbol, timeframe)
    try:
        return simulate(ctx, symbol, timeframe, bars=window)
    except NoActiveModel:
        return SimulationResult(normalise_symbol(symbol), parse_timeframe(timeframe).code)
