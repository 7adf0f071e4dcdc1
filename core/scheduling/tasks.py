"""CandleLab's scheduled tasks and the plan of their next runs (shown on the Training page)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from core.context import Context
from core.errors import CandleLabError
from core.jobs.runner import JobRunner
from core.learning.paper_trader import advance
from core.requests import RetrainSweep, TriggerRequest
from core.scheduling.scheduler import Task
from core.services.actors import Actor
from core.services.runs import start_retrain, trigger_training
from core.settings import Settings
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)

SYSTEM = Actor.system()
PAPER_TICK_MINUTES = 5
STALENESS_SWEEP_MINUTES = 15


def watched_pairs(settings: Settings) -> list[tuple[str, str]]:
    """WATCHLIST entries "SYMBOL:TF"; malformed entries are skipped with a warning."""
    pairs = []
    for entry in settings.watchlist:
        symbol, _, tf = entry.partition(":")
        try:
            pairs.append((normalise_symbol(symbol), parse_timeframe(tf or "1d").code))
        except CandleLabError as exc:
            log.warning("WATCHLIST entry %r ignored: %s", entry, exc)
    return pairs


def daily_retrain(ctx: Context, runner: JobRunner) -> str:
    """Queue a retrain job for every pair that has enough closed samples for some bot."""
    sweep = RetrainSweep(min_samples=ctx.settings.retrain_min_samples)
    started = start_retrain(runner, SYSTEM, sweep, only_ready=True)
    queued = [f"{job.symbol} {job.timeframe} (job {job.job_id})" for job in started.jobs]
    parts = [f"queued {', '.join(queued) or 'nothing'}"]
    if started.skipped:
        parts.append("busy: " + ", ".join(f"{s['symbol']} {s['timeframe']}" for s in started.skipped))
    if not started.jobs and not started.skipped:
        parts.append(f"no pair has {sweep.min_samples} closed samples yet")
    return "; ".join(parts)


def paper_tick(ctx: Context, runner: JobRunner) -> str:
    """Fetch new bars for watched pairs and advance the paper trader over them."""
    notes = []
    for symbol, tf in watched_pairs(ctx.settings):
        try:
            result = advance(ctx, symbol, tf)
            notes.append(f"{symbol} {tf}: {result.summary()}")
        except CandleLabError as exc:
            notes.append(f"{symbol} {tf}: skipped ({exc})")
    return "; ".join(notes) or "no watched pairs"


def staleness_sweep(ctx: Context, runner: JobRunner) -> str:
    notes = []
    for symbol, tf in watched_pairs(ctx.settings):
        try:
            result = trigger_training(runner, SYSTEM, TriggerRequest(symbol=symbol, timeframe=tf))
            notes.append(
                f"{symbol} {tf}: {'started job ' + str(result.job_id) if result.started else result.reason}"
            )
        except CandleLabError as exc:
            notes.append(f"{symbol} {tf}: skipped ({exc})")
    return "; ".join(notes) or "no watched pairs"


def build_tasks(settings: Settings) -> list[Task]:
    return [
        Task(
            "daily_retrain",
            f"retrain from closed samples daily at {settings.retrain_hour_utc:02d}:"
            f"{settings.retrain_minute_utc:02d} UTC",
            CronTrigger(hour=settings.retrain_hour_utc, minute=settings.retrain_minute_utc, timezone=UTC),
            timedelta(days=1),
            daily_retrain,
            enabled=settings.qt_ai_retraining_enabled,
        ),
        Task(
            "paper_tick",
            f"paper-trade new bars of watched pairs every {PAPER_TICK_MINUTES} min",
            CronTrigger(minute=f"*/{PAPER_TICK_MINUTES}", timezone=UTC),
            timedelta(minutes=PAPER_TICK_MINUTES),
            paper_tick,
        ),
        Task(
            "staleness_sweep",
            f"retrain stale watched pairs every {STALENESS_SWEEP_MINUTES} min",
            CronTrigger(minute=f"*/{STALENESS_SWEEP_MINUTES}", timezone=UTC),
            timedelta(minutes=STALENESS_SWEEP_MINUTES),
            staleness_sweep,
        ),
    ]


def plan(settings: Settings, now: datetime | None = None) -> list[dict[str, object]]:
    """Each task with its next run time (None when disabled), without starting anything."""
    now = now or datetime.now(UTC)
    rows = []
    for task in build_tasks(settings):
        nxt = task.trigger.get_next_fire_time(None, now) if task.enabled else None
        rows.append(
            {"task": task.name, "description": task.description, "enabled": task.enabled, "next_run": nxt}
        )
    return rows
