"""Training runs: from a label set (or fresh labels, or any label-like frame) to registered versions.

`train` is the entry of the CLI, the trigger and the scheduler; `train_from_frame` is the same
path for callers that bring their own label-like frame (the continuous-learning retrain builds
one from paper-trade outcomes). Input problems are found before anything is written; bots are
trained one after another with a cancellation check between them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.bots.dataset import build_dataset, check_trainable
from core.bots.factory import parse_bots
from core.context import Context
from core.data.service import load_window
from core.errors import BadInput, CandleLabError, JobCancelled
from core.evaluation.walkforward import plan_split
from core.jobs.store import cancel_requested, update_progress
from core.labeling import store as label_store
from core.labeling.schema import default_horizon
from core.timeframes import normalise_symbol, parse_timeframe
from core.training.trainer import ACTIVATE_MODES, TrainedVersion, TrainingPlan, train_bot

log = logging.getLogger("core.training")

MIN_LABELS = 30
LABELING_OPTIONS = (
    "lookback_days",
    "samples",
    "labeler",
    "sampling",
    "seed",
    "refresh",
    "bypass_cache",
    "now",
    "end",
)
LABELING_SHARE = 0.3  # of the progress bar, when the run labels first

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


class TrainingFailed(CandleLabError):
    """Every bot of a run failed; the message carries each error."""


@dataclass
class TrainingResult:
    versions: list[TrainedVersion]
    wall_s: float
    label_set_id: int | None
    job_id: int | None = None
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "label_set_id": self.label_set_id,
            "versions": [v.as_json() for v in self.versions],
            "failed": self.failed,
            "wall_s": round(self.wall_s, 3),
        }


class _Reporter:
    """Progress and cancellation: the caller's callbacks, else the job row when there is one."""

    def __init__(
        self, ctx: Context, job_id: int | None, progress: ProgressFn | None, should_cancel: CancelFn | None
    ) -> None:
        self.ctx, self.job_id, self.progress, self.should_cancel = ctx, job_id, progress, should_cancel

    def __call__(self, fraction: float, stage: str, **fields: Any) -> None:
        if self.progress is not None:
            self.progress(fraction, stage)
        elif self.job_id is not None:
            update_progress(self.ctx.db, self.job_id, fraction, stage, **fields)

    def scaled(self, lo: float, hi: float) -> ProgressFn:
        return lambda fraction, stage: self(lo + (hi - lo) * fraction, stage)

    def cancelled(self) -> bool:
        if self.should_cancel is not None:
            return bool(self.should_cancel())
        return self.job_id is not None and cancel_requested(self.ctx.db, self.job_id)


def check_request(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    bots: str | list[str] | tuple[str, ...],
    label_set_id: int | None = None,
    labeling: dict[str, Any] | None = None,
    activate: str = "gate",
) -> tuple[str, str, list[str]]:
    """Validate a training request without writing anything; returns the normalised pair and bots."""
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    names = parse_bots(bots)
    if activate not in ACTIVATE_MODES:
        raise BadInput(f"activate must be one of {', '.join(ACTIVATE_MODES)}, not {activate!r}")
    if label_set_id is not None and labeling:
        raise BadInput("give either a label set or labeling options, not both")
    unknown = sorted(set(labeling or {}) - set(LABELING_OPTIONS))
    if unknown:
        raise BadInput(f"unknown labeling option(s) {', '.join(unknown)}; use {', '.join(LABELING_OPTIONS)}")
    if label_set_id is not None:
        with ctx.db.read() as session:
            label_set = label_store.get_label_set(session, label_set_id)
            pair = (label_set.symbol, label_set.timeframe)
        if pair != (symbol, tf):
            raise BadInput(f"label set {label_set_id} is for {pair[0]} {pair[1]}, not {symbol} {tf}")
    return symbol, tf, names


def check_label_set(ctx: Context, symbol: str, timeframe: str, label_set_id: int) -> None:
    """Refuse a label set that is too small, one-class or too short to split, before any job exists."""
    with ctx.db.read() as session:
        labels = label_store.load_labels(session, label_set_id)
        data_end = label_store.get_label_set(session, label_set_id).data_end
    bars, _ = load_window(ctx, symbol, timeframe, end=data_end)
    dataset = build_dataset(bars, labels, default_horizon=default_horizon(timeframe))
    check_trainable(dataset, min_points=MIN_LABELS, what=f"label set {label_set_id}")
    plan_split(dataset, ctx.settings.walkforward_folds, horizon=default_horizon(timeframe))


def _run_labeling(
    ctx: Context, symbol: str, tf: str, options: dict[str, Any], job_id: int | None, report: _Reporter
) -> int:
    try:
        from core.labeling.service import run_labeling
    except ImportError:
        raise BadInput(
            "the labeling service is not available in this build; pass an existing label set (--label-set ID)"
        ) from None
    result = run_labeling(
        ctx,
        symbol,
        tf,
        **options,
        progress=report.scaled(0.0, LABELING_SHARE),
        should_cancel=report.cancelled,
        job_id=job_id,
    )
    return int(result.label_set_id)


def train(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    bots: str | list[str] | tuple[str, ...],
    label_set_id: int | None = None,
    labeling: dict[str, Any] | None = None,
    activate: str = "gate",
    training_type: str = "manual",
    job_id: int | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    actor: str | None = None,
    bot_params: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
) -> TrainingResult:
    """Train `bots` on a label set, labeling first (with `labeling` options) when none is given."""
    started = time.perf_counter()
    symbol, tf, names = check_request(
        ctx, symbol, timeframe, bots=bots, label_set_id=label_set_id, labeling=labeling, activate=activate
    )
    report = _Reporter(ctx, job_id, progress, should_cancel)
    lo = 0.0
    if label_set_id is None:
        report(0.0, "labeling")
        label_set_id = _run_labeling(ctx, symbol, tf, dict(labeling or {}), job_id, report)
        lo = LABELING_SHARE
        if report.cancelled():
            raise JobCancelled(f"training cancelled after labeling (label set {label_set_id} kept)")
    with ctx.db.read() as session:
        label_set = label_store.get_label_set(session, label_set_id)
        labeler, llm_calls, cost = label_set.labeler, label_set.api_calls, label_set.cost_usd
        data_end = label_set.data_end
        labels = label_store.load_labels(session, label_set_id)
    # The model knows the market only as far as its labels' window: later bars stay unseen (the
    # lineage records that boundary, and paper replays trade only beyond it).
    bars, _ = load_window(ctx, symbol, tf, end=data_end)
    if job_id is not None:  # the job row shows which labels it trains on and what they cost
        update_progress(
            ctx.db, job_id, lo, "training", label_set_id=label_set_id, llm_calls=llm_calls, cost_usd=cost
        )
    return train_from_frame(
        ctx, symbol, tf, labels, bots=names, bars=bars, label_set_id=label_set_id, labeler=labeler,
        source="label_set", activate=activate, training_type=training_type, job_id=job_id,
        progress=report.scaled(lo, 1.0), should_cancel=report.cancelled, actor=actor, bot_params=bot_params,
        seed=seed, llm_calls=llm_calls, cost_usd=cost, started=started,
    )  # fmt: skip


def train_from_frame(
    ctx: Context,
    symbol: str,
    timeframe: str,
    labels: pd.DataFrame,
    *,
    bots: str | list[str] | tuple[str, ...],
    bars: pd.DataFrame | None = None,
    label_set_id: int | None = None,
    labeler: str | None = None,
    source: str = "frame",
    activate: str = "gate",
    training_type: str = "retrain",
    job_id: int | None = None,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    actor: str | None = None,
    bot_params: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
    llm_calls: int = 0,
    cost_usd: float = 0.0,
    started: float | None = None,
) -> TrainingResult:
    """Train on a label-like frame (indexed by bar time; current_price, target, stop_loss, confidence,
    recommendation, horizon_bars). `bars` defaults to the stored series of the pair."""
    started = started if started is not None else time.perf_counter()
    symbol, tf, names = check_request(ctx, symbol, timeframe, bots=bots, activate=activate)
    report = _Reporter(ctx, job_id, progress, should_cancel)
    if bars is None:
        bars, _ = load_window(ctx, symbol, tf)
    what = f"label set {label_set_id}" if label_set_id is not None else "the label frame"
    dataset = build_dataset(bars, labels, default_horizon=default_horizon(tf))
    check_trainable(dataset, min_points=MIN_LABELS, what=what)
    split = plan_split(dataset, ctx.settings.walkforward_folds, horizon=default_horizon(tf))
    plan = TrainingPlan(
        ctx=ctx, symbol=symbol, timeframe=tf, bars=bars, dataset=dataset, split=split,
        label_set_id=label_set_id, labeler=labeler, source=source, training_type=training_type,
        job_id=job_id, activate=activate, actor=actor or f"{training_type} training",
        llm_calls=llm_calls, cost_usd=cost_usd, seed=seed, bot_params=dict(bot_params or {}),
    )  # fmt: skip
    log.info(
        "AI training started for %s %s (%s): %s on %s, %d labels %s, %d walk-forward folds over %d bars",
        symbol, tf, training_type, ", ".join(names), what, len(dataset), dataset.class_counts(),
        len(split.folds), split.stop - split.start,
    )  # fmt: skip
    if job_id is not None and progress is None:
        report(0.0, "training", label_set_id=label_set_id, llm_calls=llm_calls, cost_usd=cost_usd)
    versions: list[TrainedVersion] = []
    failed: list[dict[str, str]] = []
    for i, name in enumerate(names):
        if report.cancelled():
            done = ", ".join(v.bot for v in versions) or "none"
            raise JobCancelled(f"training cancelled before {name} ({i} of {len(names)} bots done: {done})")
        report(i / len(names), f"training {name} {i + 1}/{len(names)}")
        try:
            versions.append(train_bot(plan, name))
        except Exception as exc:
            log.exception("AI training of %s for %s %s failed", name, symbol, tf)
            failed.append({"bot": name, "error": f"{type(exc).__name__}: {exc}"})
    report(1.0, "done")
    wall_s = time.perf_counter() - started
    if failed and not versions:
        raise TrainingFailed("every bot failed: " + "; ".join(f"{f['bot']}: {f['error']}" for f in failed))
    return TrainingResult(versions, wall_s, label_set_id, job_id, failed)
