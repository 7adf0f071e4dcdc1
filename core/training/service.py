"""Training runs: from a label set (or fresh labels, or any label-like frame) to registered versions.

`train(ctx, request, reporter)` is the entry of every training job (quick, full, manual);
`train_frame` is the same path for callers that bring their own label-like frame (the
continuous-learning retrain builds one from paper-trade outcomes). Bots are trained one after
another with a cancellation check between them; each version is registered inactive, and the
gate's activations are applied only when the run commits, after its last bot. A run that is
cancelled (or dies) before that leaves no `ready` version behind: its versions are `discarded`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from core.bots.dataset import build_dataset, check_trainable
from core.context import Context
from core.data.supply import load_window
from core.errors import BadInput, BudgetExhausted, CandleLabError, JobCancelled, LLMAuthError
from core.evaluation.walkforward import plan_split
from core.labeling import store as label_store
from core.labeling.result import LabelingResult
from core.labeling.schema import default_horizon
from core.labeling.service import label
from core.registry.versions import discard_versions
from core.reporting import NULL_REPORTER, Callbacks, Reporter, Span
from core.requests import TrainingRequest, parse
from core.training.history import HISTORY_LABELER, label_history, merge_labels
from core.training.trainer import TrainedVersion, TrainingPlan, commit_version, train_bot

log = logging.getLogger("core.training")

MIN_LABELS = 30  # labels a run needs before it splits them walk-forward
LABELING_SHARE = 0.3  # of the progress bar, when the run labels first


class TrainingFailed(CandleLabError):
    """Every bot of a run failed; the message carries each error."""


class LabelingFailed(CandleLabError):
    """The labeling stage of a run produced nothing to train on (e.g. every LLM request failed)."""


@dataclass
class TrainingResult:
    versions: list[TrainedVersion]
    wall_s: float
    label_set_id: int | None
    job_id: int | None = None
    failed: list[dict[str, str]] = field(default_factory=list)
    budget_stop: str | None = None  # the labeling stage stopped on the daily LLM budget

    @property
    def status(self) -> str:
        return "budget_exhausted" if self.budget_stop else "succeeded"

    def as_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "label_set_id": self.label_set_id,
            "versions": [v.as_json() for v in self.versions],
            "failed": self.failed,
            "wall_s": round(self.wall_s, 3),
        }


@dataclass(frozen=True)
class LabelFrame:
    """What a run trains on: label-like rows (indexed by bar time; current_price, target, stop_loss,
    confidence, recommendation, horizon_bars), the bars they refer to, and where they came from."""

    labels: pd.DataFrame
    bars: pd.DataFrame
    label_set_id: int | None = None
    labeler: str | None = None
    source: str = "frame"
    llm_calls: int = 0
    cost_usd: float = 0.0
    # Who made the rows when more than one labeler did: each set's id, labeler and label count.
    label_sets: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class RunOptions:
    """How a run trains: which bots, whether its versions may go live, and who asked."""

    bots: tuple[str, ...]
    activate: str = "gate"
    training_type: str = "manual"
    job_id: int | None = None
    actor: str | None = None
    seed: int = 0
    bot_params: dict[str, dict[str, Any]] = field(default_factory=dict)


def train(
    ctx: Context,
    request: TrainingRequest,
    reporter: Reporter = NULL_REPORTER,
    *,
    job_id: int | None = None,
    actor: str | None = None,
) -> TrainingResult:
    """Train the request's bots on its label set, labeling first when it names none."""
    started = time.perf_counter()
    options = RunOptions(
        bots=request.bots,
        activate=request.activate,
        training_type=request.kind,
        job_id=job_id,
        actor=actor,
        seed=request.seed,
        bot_params=dict(request.bot_params),
    )
    budget_stop, span = None, reporter
    label_set_id = request.label_set_id
    if label_set_id is None:
        labeled = label_stage(ctx, request, reporter, job_id)
        label_set_id, span = labeled.label_set_id, Span(reporter, LABELING_SHARE, 1.0)
        budget_stop = labeled.message if labeled.status == "budget_exhausted" else None
    frame = label_set_frame(ctx, label_set_id, (request.symbol, request.timeframe))
    if request.history_bars:
        frame = with_history(
            ctx, request, frame, Span(reporter, LABELING_SHARE, LABELING_SHARE + 0.05), job_id
        )
        span = Span(reporter, LABELING_SHARE + 0.05, 1.0)
    reporter.spend(label_set_id=label_set_id, llm_calls=frame.llm_calls, cost_usd=frame.cost_usd)
    try:
        result = train_frame(ctx, request.symbol, request.timeframe, frame, options, span, started=started)
    except BadInput as exc:
        if budget_stop:  # too few labels because the budget ran out: say that, not only "too few labels"
            raise BudgetExhausted(
                f"label set {label_set_id} stopped on the daily LLM budget; {exc}"
            ) from None
        raise
    return replace(result, budget_stop=budget_stop)


def label_stage(
    ctx: Context, request: TrainingRequest, reporter: Reporter, job_id: int | None
) -> LabelingResult:
    """The labeling stage; a stop that leaves nothing to train on ends the run with its typed error.

    Public for the fan-out (`core.jobs.dask.fanout`), which labels once and then trains each bot apart.
    """
    reporter.progress(0.0, "labeling")
    result = label(ctx, request.labeling_request(), Span(reporter, 0.0, LABELING_SHARE), job_id=job_id)
    kept = f"label set {result.label_set_id} keeps {result.labeled} labels"
    if result.status == "cancelled":
        raise JobCancelled(f"training cancelled while labeling ({kept})")
    if result.status == "auth_failed":
        raise LLMAuthError(f"{result.message} ({kept})")
    if result.status == "failed":
        raise LabelingFailed(f"labeling failed: {result.message} ({kept})")
    if reporter.cancelled():
        raise JobCancelled(f"training cancelled after labeling ({kept})")
    return result


def label_set_frame(ctx: Context, label_set_id: int, pair: tuple[str, str] | None = None) -> LabelFrame:
    """A stored label set as a frame, with the bars up to the set's data end.

    The model knows the market only as far as its labels' window: later bars stay unseen (the
    lineage records that boundary, and paper replays trade only beyond it).
    """
    with ctx.db.read() as session:
        label_set = label_store.get_label_set(session, label_set_id)
        symbol, tf, data_end = label_set.symbol, label_set.timeframe, label_set.data_end
        meta = (label_set.labeler, label_set.api_calls, label_set.cost_usd)
        labels = label_store.load_labels(session, label_set_id)
    if pair is not None and pair != (symbol, tf):
        raise BadInput(f"label set {label_set_id} is for {symbol} {tf}, not {pair[0]} {pair[1]}")
    bars, _ = load_window(ctx, symbol, tf, end=data_end)
    return LabelFrame(labels, bars, label_set_id, meta[0], "label_set", meta[1], meta[2])


def with_history(
    ctx: Context, request: TrainingRequest, frame: LabelFrame, reporter: Reporter, job_id: int | None
) -> LabelFrame:
    """The analyst's label frame joined by free hindsight labels over the newest stored history
    (see `core.training.history`); the frame itself when the history is too short to add any."""
    if frame.label_set_id is None:
        return frame
    reporter.progress(0.0, "labeling history (hindsight)")
    end = pd.Timestamp(frame.bars.index[-1])
    set_id = label_history(
        ctx, request.symbol, request.timeframe, end=end, bars=request.history_bars, job_id=job_id
    )
    if set_id is None:
        return frame
    free = label_set_frame(ctx, set_id, (request.symbol, request.timeframe))
    if free.labels.empty:
        return frame
    labels = merge_labels(frame.labels, free.labels, frame.labeler or "unknown")
    counts = labels["labeler"].value_counts()
    sets = (
        {
            "label_set_id": frame.label_set_id,
            "labeler": frame.labeler,
            "labels": int(counts.get(frame.labeler, 0)),
        },
        {"label_set_id": set_id, "labeler": HISTORY_LABELER, "labels": int(counts.get(HISTORY_LABELER, 0))},
    )
    return replace(frame, labels=labels, bars=free.bars, source="label_set+history", label_sets=sets)


def plan_run(ctx: Context, symbol: str, tf: str, frame: LabelFrame, options: RunOptions) -> TrainingPlan:
    """The run's dataset and walk-forward split; `BadInput` when the labels cannot be trained on."""
    what = f"label set {frame.label_set_id}" if frame.label_set_id is not None else "the label frame"
    dataset = build_dataset(frame.bars, frame.labels, default_horizon=default_horizon(tf))
    check_trainable(dataset, min_points=MIN_LABELS, what=what)
    split = plan_split(dataset, ctx.settings.walkforward_folds, horizon=default_horizon(tf))
    log.info(
        "AI training started for %s %s (%s): %s on %s, %d labels %s, %d walk-forward folds over %d bars",
        *(symbol, tf, options.training_type, ", ".join(options.bots), what, len(dataset)),
        *(dataset.class_counts(), len(split.folds), split.stop - split.start),
    )
    return TrainingPlan(
        ctx=ctx,
        symbol=symbol,
        timeframe=tf,
        bars=frame.bars,
        dataset=dataset,
        split=split,
        label_set_id=frame.label_set_id,
        labeler=frame.labeler,
        source=frame.source,
        training_type=options.training_type,
        job_id=options.job_id,
        activate=options.activate,
        actor=options.actor or f"{options.training_type} training",
        llm_calls=frame.llm_calls,
        cost_usd=frame.cost_usd,
        label_sets=frame.label_sets,
        seed=options.seed,
        bot_params=dict(options.bot_params),
    )


def train_frame(
    ctx: Context,
    symbol: str,
    timeframe: str,
    frame: LabelFrame,
    options: RunOptions,
    reporter: Reporter = NULL_REPORTER,
    *,
    started: float | None = None,
) -> TrainingResult:
    """Train `options.bots` on `frame`; activations are applied once every bot is done."""
    started = started if started is not None else time.perf_counter()
    plan = plan_run(ctx, symbol, timeframe, frame, options)
    versions, failed = _train_bots(plan, options.bots, reporter)
    if failed and not versions:
        raise TrainingFailed("every bot failed: " + "; ".join(f"{f['bot']}: {f['error']}" for f in failed))
    if reporter.cancelled():
        _discard(plan, versions, "the run was cancelled before it committed")
        raise JobCancelled(f"training cancelled before its versions went live ({_ids(versions)} discarded)")
    reporter.progress(0.98, "activating")
    committed = [commit_version(plan, v) for v in versions]
    reporter.progress(1.0, "done")
    return TrainingResult(
        committed, time.perf_counter() - started, frame.label_set_id, options.job_id, failed
    )


def _train_bots(
    plan: TrainingPlan, bots: tuple[str, ...], reporter: Reporter
) -> tuple[list[TrainedVersion], list[dict[str, str]]]:
    versions: list[TrainedVersion] = []
    failed: list[dict[str, str]] = []
    for i, name in enumerate(bots):
        if reporter.cancelled():
            _discard(plan, versions, "the run was cancelled before it committed")
            done = ", ".join(v.bot for v in versions) or "none"
            raise JobCancelled(
                f"training cancelled before {name} ({i} of {len(bots)} bots done: {done}; "
                f"{_ids(versions)} discarded)"
            )
        reporter.progress(0.95 * i / len(bots), f"training {name} {i + 1}/{len(bots)}")
        try:
            versions.append(train_bot(plan, name))
        except Exception as exc:
            log.exception("AI training of %s for %s %s failed", name, plan.symbol, plan.timeframe)
            failed.append({"bot": name, "error": f"{type(exc).__name__}: {exc}"})
        except BaseException:
            _discard(plan, versions, "the run stopped before it committed")
            raise
    return versions, failed


def _ids(versions: list[TrainedVersion]) -> str:
    return "versions " + ", ".join(str(v.version_id) for v in versions) if versions else "no versions"


def _discard(plan: TrainingPlan, versions: list[TrainedVersion], reason: str) -> None:
    discarded = discard_versions(plan.ctx.db, [v.version_id for v in versions], reason)
    if discarded:
        log.info("discarded versions %s of %s %s: %s", discarded, plan.symbol, plan.timeframe, reason)


def train_pair(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    labeling: dict[str, Any] | None = None,
    progress: Callable[[float, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    job_id: int | None = None,
    actor: str | None = None,
    **fields: Any,
) -> TrainingResult:
    """`train` for Python callers with plain options (`bots=…, label_set_id=…`), validated as a request."""
    request = parse(TrainingRequest, symbol=symbol, timeframe=timeframe, labels=labeling, **fields)
    reporter = Callbacks(progress, should_cancel)
    return train(ctx, request, reporter, job_id=job_id, actor=actor)
