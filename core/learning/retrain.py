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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select

from core.context import Context
from core.data import service as data_service
from core.db.models import AITrainingSample
from core.errors import CandleLabError, JobCancelled
from core.jobs import store as job_store
from core.labeling.schema import LabelReply, check_label, default_horizon
from core.learning.queries import closed_counts
from core.learning.samples import live_accuracy_of
from core.registry.versions import set_metric
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)

LABEL_COLUMNS = ["current_price", "target", "stop_loss", "confidence", "recommendation", "horizon_bars"]


@dataclass
class RetrainOutcome:
    retrained: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: RetrainOutcome) -> None:
        self.retrained.extend(other.retrained)
        self.skipped.extend(other.skipped)

    def as_json(self) -> dict[str, Any]:
        return {"retrained": self.retrained, "skipped": self.skipped}


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
            target=new_target, stop_loss=new_stop, confidence=conf, recommendation=rec,
            bias={"BUY": "bullish", "SELL": "bearish", "HOLD": "neutral"}[rec],
        )  # fmt: skip
        if check_label(reply, entry) is None:
            rows.append((ts, entry, new_target, new_stop, conf, rec, horizon))
    frame = pd.DataFrame(rows, columns=["ts", *LABEL_COLUMNS])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.set_index("ts").sort_index()


def _closed_samples(ctx: Context, symbol: str, tf: str, bot: str) -> pd.DataFrame:
    s = AITrainingSample
    with ctx.db.read() as session:
        rows = session.execute(
            select(s.predicted_at, s.version_id, s.recommendation, s.entry_price, s.target, s.stop_loss,
                   s.exit_price, s.exit_reason)
            .where(s.symbol == symbol, s.timeframe == tf, s.bot == bot, s.status == "closed",
                   s.target.is_not(None), s.stop_loss.is_not(None))
            .order_by(s.predicted_at)
        ).all()  # fmt: skip
    columns = ["ts", "version_id", "recommendation", "entry_price", "target", "stop_loss", "exit_price"]
    frame = pd.DataFrame(rows, columns=[*columns, "exit_reason"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    # One trade per entry bar: a bar traded by two versions of the bot counts once (the newest).
    return frame.drop_duplicates("ts", keep="last").set_index("ts")


def pairs_ready_for_retrain(ctx: Context, min_samples: int) -> list[tuple[str, str]]:
    with ctx.db.read() as session:
        slots = closed_counts(session, min_samples)
    return sorted({(symbol, tf) for symbol, tf, _bot, _n in slots})


def _record_live_accuracy(ctx: Context, version_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Write each predecessor's live accuracy into its metrics and return them."""
    out = {}
    for version_id in version_ids:
        with ctx.db.read() as session:
            live = live_accuracy_of(session, version_id).as_metrics()
        for key, value in live.items():
            set_metric(ctx.db, version_id, key, value)
        out[version_id] = live
    return out


def retrain_pair(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    min_samples: int,
    bots: list[str] | None = None,
    job_id: int | None = None,
    progress: Callable[..., None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RetrainOutcome:
    """Retrain every bot of the pair that has at least `min_samples` closed samples."""
    from core.training.service import train_from_frame

    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    outcome = RetrainOutcome()
    with ctx.db.read() as session:
        counts = {bot: n for sym, t, bot, n in closed_counts(session, 1) if (sym, t) == (symbol, tf)}
    candidates = sorted(set(bots) if bots else set(counts))
    ready = [b for b in candidates if counts.get(b, 0) >= min_samples]
    for bot in candidates:
        if bot not in ready:
            outcome.skipped.append({
                "symbol": symbol, "timeframe": tf, "bot": bot,
                "reason": f"only {counts.get(bot, 0)} closed samples (needs {min_samples})",
            })  # fmt: skip
    if not ready:
        return outcome
    bars, _ = data_service.load_window(ctx, symbol, tf, refresh=True, bypass_cache=True)
    for i, bot in enumerate(ready):
        if should_cancel is not None and should_cancel():
            raise JobCancelled("retrain cancelled")
        if progress is not None:
            progress(i / len(ready), f"retraining {bot} {i + 1}/{len(ready)}")
        samples = _closed_samples(ctx, symbol, tf, bot)
        labels = outcome_labels(samples, ctx.settings.threshold_for(tf), default_horizon(tf))
        predecessors = sorted({int(v) for v in samples["version_id"].dropna().unique()})
        base = {"symbol": symbol, "timeframe": tf, "bot": bot, "samples": len(samples)}
        try:
            result = train_from_frame(
                ctx, symbol, tf, labels, bots=[bot], bars=bars, source="paper_outcomes", labeler="outcomes",
                activate="gate", training_type="retrain", job_id=job_id, actor="retrain",
            )  # fmt: skip
        except CandleLabError as exc:
            outcome.skipped.append({**base, "reason": str(exc)})
            continue
        live = _record_live_accuracy(ctx, predecessors)
        for version in result.versions:
            entry = {**base, **version.as_json(), "predecessors": live}
            outcome.retrained.append(entry)
            log.info("Successfully trained %s for %s %s from %d paper outcomes (version %s)",
                     bot, symbol, tf, len(samples), entry.get("version_id"))  # fmt: skip
    return outcome


def retrain_all(ctx: Context, min_samples: int) -> RetrainOutcome:
    """The CLI's `retrain`: every pair with samples, one after another, each as a recorded job."""
    outcome = RetrainOutcome()
    for symbol, tf in pairs_ready_for_retrain(ctx, 1):
        try:
            job = job_store.create_job(
                ctx.db, "retrain", symbol, tf, params={"min_samples": min_samples}, status="running"
            )
        except job_store.JobAlreadyActive as exc:
            outcome.skipped.append({"symbol": symbol, "timeframe": tf, "reason": str(exc)})
            continue
        try:
            pair = retrain_pair(ctx, symbol, tf, min_samples=min_samples, job_id=job.job_id)
        except Exception as exc:
            job_store.finish_job(ctx.db, job.job_id, "failed", error=str(exc))
            raise
        job_store.finish_job(ctx.db, job.job_id, "succeeded", result=pair.as_json())
        outcome.extend(pair)
    if not outcome.retrained and not outcome.skipped:
        outcome.skipped.append(
            {"reason": "no closed training samples yet; run `python -m core simulate` first"}
        )
    return outcome
