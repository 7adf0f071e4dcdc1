"""The chart-view path: opening a stale pair starts quick training in the background, once."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from core.context import Context
from core.data import store as bar_store
from core.jobs import store
from core.jobs.runner import JobRunner
from core.jobs.staleness import staleness
from core.labeling.sampling import MIN_HISTORY
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriggerResult:
    job_id: int | None
    started: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "started": self.started, "reason": self.reason}


def training_params(settings: Any, kind: str) -> dict[str, Any]:
    """The original system's numbers: quick = 14 days, 50 points, two bots; full = 30, 100, three."""
    if kind == "quick":
        days, samples, bots = settings.quick_lookback_days, settings.quick_samples, settings.quick_bots
    elif kind == "full":
        days, samples, bots = settings.full_lookback_days, settings.full_samples, settings.full_bots
    else:
        raise ValueError(f"no default parameters for {kind!r}")
    return {
        "lookback_days": days,
        "samples": samples,
        "bots": list(bots),
        "labeler": None,  # the LLM when configured, else the rule-based analyst
        "sampling": "mixed",
        "refresh": True,  # fetch fresh bars first ...
        "bypass_cache": True,  # ... always from the provider, as the original system did
        "activate": "gate",
    }


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


def trigger(
    runner: JobRunner, symbol: str, timeframe: str, *, requested_by: str = "chart", force: bool = False
) -> TriggerResult:
    """Start quick training when the pair is stale and nothing runs for it; say why not otherwise.

    `force` (the "Retrain now" button) skips the staleness check but never the one-job rule.
    """
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    ctx = runner.ctx
    with ctx.db.read() as session:
        active = store.active_job(session, symbol, tf)
    if active is not None:
        return TriggerResult(
            active.id, False, f"job {active.id} is already {active.status} for {symbol} {tf}"
        )
    state = staleness(ctx, symbol, tf)
    if not state.stale and not force:
        return TriggerResult(None, False, f"fresh: {state.reason}")
    params = training_params(ctx.settings, "quick")
    params["lookback_days"] = widened_lookback(ctx, symbol, tf, params["lookback_days"], params["samples"])
    try:
        job = runner.submit("quick", symbol, tf, params, requested_by=requested_by)
    except store.JobAlreadyActive as exc:  # lost a race with another thread or process
        return TriggerResult(exc.job_id, False, f"job {exc.job_id} is already running for {symbol} {tf}")
    why = "requested" if force and not state.stale else f"stale: {state.reason}"
    log.info("AI training triggered for %s %s (%s): job %d", symbol, tf, why, job.job_id)
    return TriggerResult(job.job_id, True, why)
