"""The chart-view path: opening a stale pair starts quick training in the background, once.

A pair is not re-queued while it has a job, while it is fresh, or while its last automatic (quick)
job failed on its input and neither the pair's data nor the relevant settings changed since:
the trigger says why instead, with that job's full error. `force` (the Retrain button) skips the
freshness and the failed-input rules, never the one-job-per-pair rule.

**Staleness.** A pair is stale when its newest trained version, live or not, is older than
MODEL_STALE_HOURS. Counting every trained version (not only active ones) keeps a pair whose models
stay below the gate from being retrained, and its LLM labels paid for again, on every visit or
sweep. Versions of runs that never committed (`discarded`) do not count.

**Inputs.** A fingerprint of what a pair's automatic training depends on: its stored series and
the settings. A quick job that failed on its input is not re-queued while it stays the same: the
same data and the same settings would fail the same way. New bars, an import, or a changed setting
(the provider, the LLM, the quick-training numbers) change it, and the trigger tries again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select

from core.context import Context
from core.data import store as bar_store
from core.data.store import as_utc
from core.db.models import AIModelVersion
from core.db.types import utcnow
from core.jobs import store
from core.labeling.sampling import MIN_HISTORY
from core.requests import LabelOptions, TrainingRequest, TriggerRequest, parse
from core.settings import Settings

if TYPE_CHECKING:  # the runner records input fingerprints from here: a type, never an import
    from core.jobs.runner import JobRunner

log = logging.getLogger(__name__)

TriggerState = Literal["started", "busy", "fresh", "failed_input"]


@dataclass(frozen=True)
class Staleness:
    stale: bool
    newest_trained_at: datetime | None
    age_hours: float | None
    limit_hours: float

    @property
    def reason(self) -> str:
        if self.newest_trained_at is None:
            return "no trained model yet"
        verdict = "older than" if self.stale else "within"
        return f"newest model is {self.age_hours:.1f} h old ({verdict} the {self.limit_hours:g} h limit)"


def staleness(ctx: Context, symbol: str, timeframe: str, now: datetime | None = None) -> Staleness:
    now = now or utcnow()
    limit = ctx.settings.model_stale_hours
    with ctx.db.read() as session:
        newest = session.scalar(
            select(func.max(AIModelVersion.created_at)).where(
                AIModelVersion.symbol == symbol,
                AIModelVersion.timeframe == timeframe,
                AIModelVersion.status != "discarded",
            )
        )
    newest = as_utc(newest)  # aggregates bypass the column type on SQLite
    if newest is None:
        return Staleness(True, None, None, limit)
    age = now - newest
    return Staleness(age > timedelta(hours=limit), newest, age.total_seconds() / 3600, limit)


def input_fingerprint(ctx: Context, symbol: str, timeframe: str) -> str:
    s = ctx.settings
    with ctx.db.read() as session:
        series = bar_store.summarize(session, symbol, timeframe).as_json()
    facts = {
        "series": series,
        "settings": [
            s.market_data_provider,
            s.llm_provider,
            s.llm_configured,
            s.quick_lookback_days,
            s.quick_samples,
            s.quick_history_bars,
            list(s.quick_bots),
            s.walkforward_folds,
        ],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TriggerResult:
    job_id: int | None
    started: bool
    reason: str
    state: TriggerState = "started"
    staleness: Staleness | None = None

    def as_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "started": self.started, "reason": self.reason, "state": self.state}


def training_request(
    settings: Settings, kind: Literal["quick", "full"], symbol: str, timeframe: str
) -> TrainingRequest:
    """The original system's numbers: quick = 14 days, 50 points, two bots; full = 30, 100, three."""
    quick = kind == "quick"
    labels = LabelOptions(
        lookback_days=settings.quick_lookback_days if quick else settings.full_lookback_days,
        samples=settings.quick_samples if quick else settings.full_samples,
        labeler=None,  # the LLM when configured, else the rule-based analyst
        sampling="mixed",
        refresh=True,  # fetch fresh bars first ...
        bypass_cache=True,  # ... always from the provider, as the original system did
    )
    bots = settings.quick_bots if quick else settings.full_bots  # QUICK_BOTS / FULL_BOTS, checked here
    return parse(
        TrainingRequest,
        symbol=symbol,
        timeframe=timeframe,
        kind=kind,
        bots=tuple(bots),
        labels=labels,
        history_bars=settings.quick_history_bars if quick else 0,
    )


def widened_lookback(ctx: Context, symbol: str, timeframe: str, days: float, samples: int) -> float:
    """The lookback in days, widened when the stored series is too sparse for `samples` points.

    The original numbers (14 days, 50 points) suit intraday bars; 14 days of daily bars are ten
    bars, too few to label or validate. Counting back from the newest stored bar, the window is
    widened to hold the prompt's history plus four bars per point (sampling needs room to choose).
    """
    needed = MIN_HISTORY + 4 * samples
    with ctx.db.read() as session:
        newest = bar_store.newest_bar_time(session, symbol, timeframe)
        oldest_needed = bar_store.nth_newest_bar_time(session, symbol, timeframe, needed)
    if newest is None or oldest_needed is None:
        return days
    span = (newest - oldest_needed).total_seconds() / 86_400
    return max(days, math.ceil(span) + 1)


def quick_request(ctx: Context, symbol: str, timeframe: str) -> TrainingRequest:
    request = training_request(ctx.settings, "quick", symbol, timeframe)
    assert request.labels is not None
    days = widened_lookback(ctx, symbol, timeframe, request.labels.lookback_days or 0, request.labels.samples)
    labels = request.labels.model_copy(update={"lookback_days": float(days)})
    return request.model_copy(update={"labels": labels})


def failed_on_input(ctx: Context, symbol: str, timeframe: str) -> store.JobView | None:
    """The pair's last quick job when it failed on its input and nothing it depends on changed since."""
    last = store.list_jobs(ctx.db, symbol=symbol, timeframe=timeframe, kind="quick", limit=1)
    if not last or last[0].status != "failed":
        return None
    result = last[0].result or {}
    if result.get("failure") != "input":
        return None
    return last[0] if result.get("inputs") == input_fingerprint(ctx, symbol, timeframe) else None


def trigger(runner: JobRunner, request: TriggerRequest, *, requested_by: str = "chart") -> TriggerResult:
    """Start quick training when the pair is stale and nothing runs for it; say why not otherwise."""
    ctx, symbol, tf = runner.ctx, request.symbol, request.timeframe
    active = store.active_job(ctx.db, symbol, tf)
    if active is not None:
        return TriggerResult(
            active.job_id, False, f"job {active.job_id} is already {active.status} for {symbol} {tf}", "busy"
        )
    state = staleness(ctx, symbol, tf)
    if not state.stale and not request.force:
        return TriggerResult(None, False, f"fresh: {state.reason}", "fresh", state)
    failed = None if request.force else failed_on_input(ctx, symbol, tf)
    if failed is not None:
        why = (
            f"the last automatic training (job {failed.job_id}) failed on its input: {failed.error}. "
            "It is tried again when the pair's data or the settings change, or on Retrain"
        )
        return TriggerResult(failed.job_id, False, why, "failed_input", state)
    try:
        job = runner.submit(quick_request(ctx, symbol, tf), requested_by=requested_by)
    except store.JobAlreadyActive as exc:  # lost a race with another thread or process
        return TriggerResult(
            exc.job_id, False, f"job {exc.job_id} is already running for {symbol} {tf}", "busy"
        )
    why = "requested" if request.force and not state.stale else f"stale: {state.reason}"
    log.info("AI training triggered for %s %s (%s): job %d", symbol, tf, why, job.job_id)
    return TriggerResult(job.job_id, True, why, "started", state)
