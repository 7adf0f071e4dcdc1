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
from core.learning.sources import PAPER, WALKFORWARD
from core.learning.trades import PaperTrade, close_position, plan_trades
from core.registry.predict import HISTORY_BARS, active_models, load_model, model_signals, walkforward_signals
from core.registry.versions import VersionView, get_version, list_versions
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)


@dataclass
class BotReplay:
    bot: str
    version_id: int
    chosen: str = "active"  # active | best candidate | requested
    replayed_bars: int = 0  # bars after its training window, traded by the version's own model
    walkforward_bars: int = 0  # bars inside it, traded by the fold model that never saw them
    skipped_in_sample: int = 0  # bars of the range its models saw: never traded, never counted
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


def _open_exits(
    ctx: Context, version_id: int, bars: pd.DataFrame, source: str
) -> tuple[list[int], pd.Timestamp | None]:
    """Exit bars of this version's recorded trades (of `source`) that are still open or end inside
    `bars`, and the time of its newest recorded entry (replays resume after it)."""
    mine = (AITrainingSample.version_id == version_id) & (AITrainingSample.source == source)
    with ctx.db.read() as session:
        newest = session.scalar(select(func.max(AITrainingSample.predicted_at)).where(mine))
        open_rows = session.execute(
            select(AITrainingSample.status, AITrainingSample.exit_time).where(
                mine,
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
    ctx: Context,
    symbol: str,
    tf: str,
    name: str,
    version_id: int,
    trade: PaperTrade,
    features: pd.DataFrame,
    source: str = PAPER,
) -> float:
    sample_id = record_execution_outcome(
        ctx,
        source=source,
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
    replay_to: int  # one past the last bar to trade
    horizon: int
    threshold: float
    costs: TradingCosts
    walkforward: bool

    def _resume(self, version_id: int, source: str, start: int) -> tuple[int, list[int]]:
        """`start`, moved past this version's newest recorded trade of `source`; its open exits."""
        exits, newest = _open_exits(self.ctx, version_id, self.history, source)
        if newest is not None:
            start = max(start, int(self.history.index.searchsorted(newest, side="right")))
        return start, exits

    def _trade(
        self, replay: BotReplay, signals: pd.DataFrame, start: int, exits: list[int], source: str
    ) -> None:
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
                self.ctx, self.symbol, self.tf, replay.bot, replay.version_id, trade, self.features, source
            )
            replay.opened += 1
            replay.closed += int(trade.closed)

    def _own_model(self, replay: BotReplay, version: VersionView, first_unseen: int) -> None:
        """The version's own model on the bars after its training window."""
        start, exits = self._resume(version.version_id, PAPER, max(self.replay_from, first_unseen))
        if start >= self.replay_to:
            return
        replay.replayed_bars = self.replay_to - start
        model = load_model(self.ctx, version)
        positions = np.arange(start, self.replay_to)
        self._trade(replay, model_signals(model, self.history, positions, self.features), start, exits, PAPER)

    def _fold_models(self, replay: BotReplay, version: VersionView, first_unseen: int) -> None:
        """The walk-forward fold models' own calls on the bars of the range inside its window."""
        stop = min(first_unseen, self.replay_to)
        if stop <= self.replay_from:
            return
        calls = walkforward_signals(self.ctx, version)
        window = self.history.index[self.replay_from : stop]
        inside = calls[calls.index.isin(window)] if calls is not None else None
        if inside is None or inside.empty:
            replay.skipped_in_sample = stop - self.replay_from
            return
        replay.walkforward_bars = len(inside)
        replay.skipped_in_sample = stop - self.replay_from - len(inside)
        first = int(self.history.index.searchsorted(inside.index[0]))
        start, exits = self._resume(version.version_id, WALKFORWARD, first)
        self._trade(replay, inside, start, exits, WALKFORWARD)

    def bot(self, name: str, version: VersionView, chosen: str) -> BotReplay:
        replay = BotReplay(name, version.version_id, chosen)
        closed, pnl = _close_open_samples(
            self.ctx, version.version_id, self.history, self.horizon, self.costs
        )
        replay.closed += closed
        replay.pnl += pnl
        trained_until = _training_end(version)
        first_unseen = 0
        if trained_until is not None:
            first_unseen = int(self.history.index.searchsorted(trained_until, side="right"))
        if self.walkforward:
            self._fold_models(replay, version, first_unseen)
        else:
            replay.skipped_in_sample = max(0, min(first_unseen, self.replay_to) - self.replay_from)
        self._own_model(replay, version, first_unseen)
        return replay


def _versions(
    ctx: Context, symbol: str, tf: str, version_id: int | None, *, fallback: bool
) -> tuple[dict[str, tuple[VersionView, str]], dict[str, str]]:
    """What a replay plays: the requested version; else the active ones; else the best candidate."""
    if version_id is not None:
        version = get_version(ctx.db, version_id)
        return {version.bot: (version, "requested")}, {}
    models, errors = active_models(ctx, symbol, tf)
    if models or errors or not fallback:
        return {name: (m.version, "active") for name, m in models.items()}, errors
    best = best_candidate(ctx, symbol, tf)
    return ({best.bot: (best, "best candidate")} if best is not None else {}), {}


def best_candidate(ctx: Context, symbol: str, tf: str) -> VersionView | None:
    """Among each bot's newest ready version, the one with the largest out-of-sample edge (the
    chart's "best candidate")."""
    newest: dict[str, VersionView] = {}
    for version in list_versions(ctx.db, symbol=symbol, timeframe=tf, status="ready"):
        newest.setdefault(version.bot, version)

    def rank(v: VersionView) -> tuple[float, float]:
        edge = v.metrics.get("directional_edge")
        p = v.metrics.get("directional_edge_p_value")
        return (-(edge if edge is not None else -1.0), p if p is not None else 1.0)

    ranked = sorted(newest.values(), key=rank)
    return ranked[0] if ranked else None


def _history(
    ctx: Context, symbol: str, tf: str, bars: int, start: datetime | None, end: datetime | None
) -> tuple[pd.DataFrame, int]:
    """The bars to replay with the warm-up before them, and where the replay starts."""
    with ctx.db.read() as session:
        if start is None:
            history = bar_store.load_bars(session, symbol, tf, end=end, limit=bars + HISTORY_BARS)
            return history, max(len(history) - bars, 0)
        history = bar_store.load_bars(session, symbol, tf, end=end)
    return history, int(history.index.searchsorted(pd.Timestamp(start)))


def simulate(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    bars: int = 2000,
    min_confidence: float | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    version_id: int | None = None,
    walkforward: bool = True,
) -> SimulationResult:
    """Replay the newest `bars` bars (or those from `start`), up to `end`, as paper trades.

    Played: the pair's active versions, or its best candidate when nothing is live, or the
    version asked for. Nothing is traded on a bar the model making the call saw: after a
    version's training window its own model trades; inside it (only without `version_id`, and
    with `walkforward`) the calls its walk-forward fold models made on their own out-of-sample
    bars are traded, recorded as source `walkforward`; every other bar is skipped and counted.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    if bars < 1:
        raise BadInput("--bars must be at least 1")
    if start is not None and end is not None and start > end:
        raise BadInput("--start must be before --end")
    chosen, errors = _versions(ctx, symbol, tf, version_id, fallback=walkforward)
    if version_id is not None:
        version = chosen[next(iter(chosen))][0]
        symbol, tf = version.symbol, version.timeframe
    if not chosen and not errors:
        raise NoActiveModel(
            f"{symbol} {tf} has no trained model; train one first "
            f"(`python -m core trigger --symbol {symbol} --timeframe {tf}`)"
        )
    threshold = ctx.settings.paper_confidence_threshold if min_confidence is None else min_confidence
    horizon = default_horizon(tf)
    costs = costs_for(ctx.settings, symbol)
    history, replay_from = _history(ctx, symbol, tf, bars, start, end)
    if history.empty:
        raise BadInput(f"no stored bars for {symbol} {tf}")
    features = compute_features(history)
    result = SimulationResult(symbol, tf, errors=dict(errors))
    replay = _Replay(
        ctx,
        symbol,
        tf,
        history,
        features,
        replay_from,
        len(history),
        horizon,
        threshold,
        costs,
        walkforward and version_id is None,
    )
    for name, (version, how) in sorted(chosen.items()):
        result.bots.append(replay.bot(name, version, how))
        demoted = demotion.review(ctx, version.version_id) if how == "active" else None
        result.live[name] = live_accuracy_of(ctx.db, version.version_id).as_metrics()
        if demoted:
            result.live[name]["demoted"] = demoted
    log.info("paper trading %s %s: %s", symbol, tf, result.summary())
    return result


def advance(ctx: Context, symbol: str, timeframe: str, *, window: int = 5000) -> SimulationResult:
    """The live tick: fetch new bars, close what they settle, trade the bars no version has seen."""
    data_service.fetch(ctx, symbol, timeframe)
    try:
        return simulate(ctx, symbol, timeframe, bars=window, walkforward=False)
    except NoActiveModel:
        return SimulationResult(normalise_symbol(symbol), parse_timeframe(timeframe).code)
