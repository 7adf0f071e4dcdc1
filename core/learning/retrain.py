"""Continuous learning: retrain a bot from the outcomes of its executed predictions.

Each closed sample becomes a label of what the trade proved: a target reached confirms the call;
a stop reached says the opposite move happened (a SELL to the stop's price after a failed BUY);
a timeout labels the realised drift, or HOLD when the drift was too small to trade. The new
version is trained, validated walk-forward and registered like any other; whether it goes live
stays a decision for the promotion gate or a person. Its predecessors gain `live_accuracy` in
their metrics, so the comparison page shows how they fared in service.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, or_, select

from core.context import Context
from core.data import supply as data_service
from core.db.models import AITrainingSample
from core.errors import CandleLabError, JobCancelled, NoActiveModel
from core.labeling.schema import LabelReply, check_label, default_horizon
from core.learning.paper_trader import simulate
from core.learning.queries import closed_counts
from core.learning.samples import live_accuracy_of
from core.registry.versions import set_metric
from core.reporting import NULL_REPORTER, Reporter, Span, stop_if_cancelled
from core.requests import RetrainRequest
from core.training.service import LabelFrame, RunOptions, train_frame
from core.training.trainer import TrainedVersion

log = logging.getLogger(__name__)

BIAS = {"BUY": "bullish", "SELL": "bearish", "HOLD": "neutral"}
LABEL_COLUMNS = ["current_price", "target", "stop_loss", "confidence", "recommendation", "horizon_bars"]


@dataclass
class RetrainOutcome:
    retrained: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    replay: dict[str, Any] | None = None  # the paper replay that ran first, when asked

    def extend(self, other: RetrainOutcome) -> None:
        self.retrained.extend(other.retrained)
        self.skipped.extend(other.skipped)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"retrained": self.retrained, "skipped": self.skipped}
        if self.replay is not None:
            out["replay"] = self.replay
        return out


REPLAY_SHARE = 0.4  # of the progress bar, when the job replays bars first


def replay_first(ctx: Context, request: RetrainRequest, reporter: Reporter) -> dict[str, Any]:
    """`simulate` with its defaults over the newest `replay_bars` bars: the samples to learn from."""
    reporter.progress(0.0, f"replaying the newest {request.replay_bars} bars as paper trades")
    try:
        result = simulate(ctx, request.symbol, request.timeframe, bars=request.replay_bars).as_json()
    except NoActiveModel as exc:  # nothing trained yet: nothing to replay, and it says so
        result = {"error": str(exc), "samples_recorded": 0, "closed": 0}
    reporter.progress(1.0, f"replayed: {result['samples_recorded']} paper trades, {result['closed']} closed")
    stop_if_cancelled(reporter, "retrain cancelled after its replay")
    return result


def _mirror(entry: float, level: float) -> float:
    """The price as far from the entry as `level`, on the other side."""
    return 2 * entry - level


def outcome_labels(samples: pd.DataFrame, threshold: float, horizon: int) -> pd.DataFrame:
    """Label-like frame (indexed by entry time) of what each closed trade proved."""
    rows = []
    for ts, s in samples.iterrows():
        entry, exit_price = float(s["entry_price"]), float(s["exit_price"])
        target, stop = float(s["target"]), float(s["stop_loss"])
        if s["exit_reason"] == "target":
            rec, new_target, new_stop, conf = s["recommendation"], target, stop, 1.0
        elif s["exit_reason"] == "stop":
            rec = "SELL" if s["recommendation"] == "BUY" else "BUY"
            new_target, new_stop, conf = stop, _mirror(entry, stop), 0.8
        else:
            drift = exit_price / entry - 1.0
            width = abs(target / entry - 1.0) or abs(drift) or threshold
            if abs(drift) <= threshold:
                rec, new_target, new_stop, conf = "HOLD", entry * (1 + width), entry * (1 - width), 0.6
            else:
                rec = "BUY" if drift > 0 else "SELL"
                new_target, new_stop, conf = exit_price, _mirror(entry, exit_price), 0.6
        reply = LabelReply(
            target=new_target,
            stop_loss=new_stop,
            confidence=conf,
            recommendation=rec,
            bias=BIAS[rec],
        )
        if check_label(reply, entry) is None:
            rows.append((ts, entry, new_target, new_stop, conf, rec, horizon))
    frame = pd.DataFrame(rows, columns=["ts", *LABEL_COLUMNS])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.set_index("ts").sort_index()


def _levels_agree(s: type[AITrainingSample]) -> ColumnElement[bool]:
    """A recorded call whose stop is not on the losing side of its target teaches nothing sound."""
    return or_(
        s.recommendation.not_in(("BUY", "SELL")),
        and_(s.recommendation == "BUY", s.stop_loss < s.target),
        and_(s.recommendation == "SELL", s.target < s.stop_loss),
    )


def _closed_samples(ctx: Context, symbol: str, tf: str, bot: str) -> pd.DataFrame:
    s = AITrainingSample
    with ctx.db.read() as session:
        columns = (s.predicted_at, s.version_id, s.recommendation, s.entry_price, s.target, s.stop_loss)
        rows = session.execute(
            select(*columns, s.exit_price, s.exit_reason)
            .where(s.symbol == symbol, s.timeframe == tf, s.bot == bot, s.status == "closed")
            .where(s.target.is_not(None), s.stop_loss.is_not(None))
            .where(_levels_agree(s))
            .order_by(s.predicted_at)
        ).all()
    columns = ["ts", "version_id", "recommendation", "entry_price", "target", "stop_loss", "exit_price"]
    frame = pd.DataFrame(rows, columns=[*columns, "exit_reason"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    # One trade per entry bar: a bar traded by two versions of the bot counts once (the newest).
    return frame.drop_duplicates("ts", keep="last").set_index("ts")


def pairs_ready_for_retrain(ctx: Context, min_samples: int) -> list[tuple[str, str]]:
    slots = closed_counts(ctx.db, min_samples)
    return sorted({(symbol, tf) for symbol, tf, _bot, _n in slots})


def _record_live_accuracy(ctx: Context, version_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Write each predecessor's live accuracy into its metrics and return them."""
    out = {}
    for version_id in version_ids:
        live = live_accuracy_of(ctx.db, version_id).as_metrics()
        for key, value in live.items():
            set_metric(ctx.db, version_id, key, value)
        out[version_id] = live
    return out


def _skips(
    symbol: str, tf: str, candidates: list[str], counts: dict[str, int], needed: int
) -> list[dict[str, Any]]:
    return [
        {
            "symbol": symbol,
            "timeframe": tf,
            "bot": bot,
            "reason": f"only {counts.get(bot, 0)} closed samples (needs {needed})",
        }
        for bot in candidates
        if counts.get(bot, 0) < needed
    ]


def ready_bots(ctx: Context, request: RetrainRequest) -> tuple[list[str], list[dict[str, Any]]]:
    """The pair's bots with at least `min_samples` closed samples, and why the others are skipped."""
    symbol, tf = request.symbol, request.timeframe
    counts = {bot: n for sym, t, bot, n in closed_counts(ctx.db, 1) if (sym, t) == (symbol, tf)}
    candidates = sorted(set(request.bots) if request.bots else set(counts))
    ready = [b for b in candidates if counts.get(b, 0) >= request.min_samples]
    return ready, _skips(symbol, tf, candidates, counts, request.min_samples)


def retrain_pair(
    ctx: Context,
    request: RetrainRequest,
    reporter: Reporter = NULL_REPORTER,
    *,
    job_id: int | None = None,
    actor: str = "retrain",
) -> RetrainOutcome:
    """Retrain every bot of the pair that has at least `request.min_samples` closed samples."""
    symbol, tf = request.symbol, request.timeframe
    replayed = replay_first(ctx, request, Span(reporter, 0.0, REPLAY_SHARE)) if request.replay_bars else None
    ready, skipped = ready_bots(ctx, request)
    outcome = RetrainOutcome(skipped=skipped, replay=replayed)
    if not ready:
        return outcome
    bars, _ = data_service.load_window(ctx, symbol, tf, refresh=True, bypass_cache=True)
    first = REPLAY_SHARE if replayed is not None else 0.0
    for i, bot in enumerate(ready):
        stop_if_cancelled(reporter, f"retrain cancelled before {bot}")
        span = Span(
            reporter, first + (1 - first) * i / len(ready), first + (1 - first) * (i + 1) / len(ready)
        )
        span.progress(0.0, f"retraining {bot} {i + 1}/{len(ready)}")
        options = RunOptions(bots=(bot,), training_type="retrain", job_id=job_id, actor=actor)
        outcome.extend(_retrain_bot(ctx, symbol, tf, bot, bars, span, options))
    return outcome


@dataclass(frozen=True)
class OutcomeFrame:
    """One bot's retrain input: the label frame of its closed trades, and what the result names."""

    frame: LabelFrame
    base: dict[str, Any]  # symbol, timeframe, bot, samples
    predecessors: list[int]  # the versions whose trades these were


def outcome_frame(ctx: Context, symbol: str, tf: str, bot: str, bars: pd.DataFrame) -> OutcomeFrame:
    """What a bot retrains on (public for the fan-out, which trains each bot as its own part)."""
    samples = _closed_samples(ctx, symbol, tf, bot)
    labels = outcome_labels(samples, ctx.settings.threshold_for(tf), default_horizon(tf))
    predecessors = sorted({int(v) for v in samples["version_id"].dropna().unique()})
    base = {"symbol": symbol, "timeframe": tf, "bot": bot, "samples": len(samples)}
    frame = LabelFrame(labels, bars, labeler="outcomes", source="paper_outcomes")
    return OutcomeFrame(frame, base, predecessors)


def retrained_entries(
    ctx: Context, base: dict[str, Any], predecessors: list[int], versions: list[TrainedVersion]
) -> list[dict[str, Any]]:
    """The result entries of a bot's committed retrain; its predecessors gain their live accuracy."""
    live = _record_live_accuracy(ctx, predecessors)
    entries = []
    for version in versions:
        entries.append({**base, **version.as_json(), "predecessors": live})
        log.info(
            "Successfully trained %s for %s %s from %d paper outcomes (version %s)",
            *(base["bot"], base["symbol"], base["timeframe"], base["samples"], version.version_id),
        )
    return entries


def _retrain_bot(
    ctx: Context, symbol: str, tf: str, bot: str, bars: pd.DataFrame, reporter: Reporter, options: RunOptions
) -> RetrainOutcome:
    outcome = outcome_frame(ctx, symbol, tf, bot, bars)
    try:
        result = train_frame(ctx, symbol, tf, outcome.frame, options, reporter)
    except JobCancelled:
        raise
    except CandleLabError as exc:
        return RetrainOutcome(skipped=[{**outcome.base, "reason": str(exc)}])
    entries = retrained_entries(ctx, outcome.base, outcome.predecessors, result.versions)
    return RetrainOutcome(retrained=entries)
