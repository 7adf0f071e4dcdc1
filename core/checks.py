"""The checks a request needs the engine or the store for, run at the edge before anything is written.

A request model (`core.requests`) already holds valid values; `check(ctx, request)` refuses what
only the engine can tell is impossible: an unknown labeler, an LLM that is not configured, a
symbol no stored series and no provider knows, a window too small for its points, a label set of
another pair or too small to train on, an experiment's window too short for its labelers. Each
refusal is `BadInput` (exit code 2, nothing written).
"""

from __future__ import annotations

from datetime import date
from functools import singledispatch

from core.bots.dataset import build_dataset, check_trainable
from core.context import Context
from core.data import store as bar_store
from core.data.providers import make_provider
from core.data.supply import load_window
from core.errors import BadInput, Conflict, NotFound
from core.evaluation.walkforward import plan_split
from core.experiments.runner import MIN_SAMPLES as MIN_EXPERIMENT_SAMPLES
from core.labeling import store as label_store
from core.labeling.labelers import LABELERS, make_offline_labeler, resolve_labeler
from core.labeling.sampling import MIN_HISTORY, SAMPLINGS, eligible_positions
from core.labeling.schema import default_horizon
from core.llm_providers import not_configured
from core.requests import (
    ExperimentRequest,
    LabelingRequest,
    RetrainRequest,
    TrainingRequest,
    TriggerRequest,
)
from core.training.service import MIN_LABELS


@singledispatch
def check(request: object, ctx: Context) -> None:
    """Refuse `request` with `BadInput` when the store says it cannot be done."""
    raise TypeError(f"no check for {type(request).__name__}")


@check.register
def _labeling(request: LabelingRequest, ctx: Context) -> None:
    if request.labeler is not None and request.labeler not in LABELERS:
        raise BadInput(
            f"--labeler: unknown labeler {request.labeler!r}; use one of {', '.join(LABELERS.names())}"
        )
    if request.sampling not in SAMPLINGS:
        raise BadInput(
            f"--sampling: unknown sampling {request.sampling!r}; use one of {', '.join(SAMPLINGS)}"
        )
    settings = ctx.settings.with_llm_provider(request.llm_provider)
    name = resolve_labeler(settings, request.labeler)
    if name == "llm" and not settings.llm_configured:
        raise Conflict(not_configured())
    future = 0 if name == "llm" else make_offline_labeler(name, request.timeframe).future_bars
    _check_series(ctx, request, future_bars=future)


def _check_series(ctx: Context, req: LabelingRequest, *, future_bars: int) -> None:
    """A known pair, and (when the run will not fetch first) enough stored bars for its points."""
    provider = make_provider(ctx.settings.market_data_provider, ctx.settings)
    with ctx.db.read() as session:
        stored = bar_store.newest_bar_time(session, req.symbol, req.timeframe) is not None
    known = provider.live or req.timeframe in provider.symbols().get(req.symbol, [])
    if not stored and not known:
        raise NotFound(
            f"unknown symbol {req.symbol!r} on {req.timeframe}: no stored bars, and the {provider.name} "
            f"provider does not have it. Import bars with `python -m core data import FILE --symbol "
            f"{req.symbol} --timeframe {req.timeframe}`, or fetch them with `python -m core data fetch`"
        )
    if not stored or (req.refresh and known):
        return  # the run fetches first: its window is known only then
    with ctx.db.read() as session:
        bars = bar_store.load_bars(
            session, req.symbol, req.timeframe, lookback_days=req.lookback_days, end=req.end
        )
    needed = MIN_HISTORY + future_bars + 1
    if len(bars) < needed:
        window = f"the last {req.lookback_days:g} days" if req.lookback_days else "the stored window"
        raise Conflict(
            f"not enough bars to label: {window} of {req.symbol} {req.timeframe} hold {len(bars)}; "
            f"it needs at least {needed} ({MIN_HISTORY} bars of history before a point, {future_bars} "
            "after it): "
            "widen --lookback-days or import more bars"
        )


@check.register
def _training(request: TrainingRequest, ctx: Context) -> None:
    if request.label_set_id is None:
        check(request.labeling_request(), ctx)
        return
    with ctx.db.read() as session:
        label_set = label_store.get_label_set(session, request.label_set_id)
        pair, data_end = (label_set.symbol, label_set.timeframe), label_set.data_end
    if pair != (request.symbol, request.timeframe):
        raise BadInput(
            f"label set {request.label_set_id} is for {pair[0]} {pair[1]}, "
            f"not {request.symbol} {request.timeframe}"
        )
    with ctx.db.read() as session:
        labels = label_store.load_labels(session, request.label_set_id)
        bars = bar_store.load_bars(session, request.symbol, request.timeframe, end=data_end)
    dataset = build_dataset(bars, labels, default_horizon=default_horizon(request.timeframe))
    check_trainable(dataset, min_points=MIN_LABELS, what=f"label set {request.label_set_id}")
    plan_split(dataset, ctx.settings.walkforward_folds, horizon=default_horizon(request.timeframe))


@check.register
def _experiment(request: ExperimentRequest, ctx: Context) -> None:
    unknown = [name for name in request.labelers if name not in LABELERS]
    if unknown:
        raise BadInput(
            f"--labelers: unknown labeler {unknown[0]!r}; use one of {', '.join(LABELERS.names())}"
        )
    if "llm" in request.labelers and not ctx.settings.llm_configured:
        raise BadInput(not_configured())
    if request.sampling not in SAMPLINGS:
        raise BadInput(
            f"--sampling: unknown sampling {request.sampling!r}; use one of {', '.join(SAMPLINGS)}"
        )
    if request.samples < MIN_EXPERIMENT_SAMPLES:
        raise BadInput(f"--samples: an experiment needs at least {MIN_EXPERIMENT_SAMPLES} points per labeler")
    bars, _ = load_window(
        ctx, request.symbol, request.timeframe, lookback_days=request.lookback_days, end=request.end
    )
    _knowledge_cutoff(request, ctx, bars.index[-1].date() if len(bars) else None)
    for name in request.labelers:
        ahead = 0 if name == "llm" else make_offline_labeler(name, request.timeframe).future_bars
        eligible = len(eligible_positions(len(bars), future_bars=ahead))
        if eligible < MIN_EXPERIMENT_SAMPLES:
            raise BadInput(
                f"{request.symbol} {request.timeframe} has {len(bars)} bars in the window, {eligible} of "
                f"them eligible for {name} labels; an experiment needs at least {MIN_EXPERIMENT_SAMPLES}: "
                "use a longer window (--lookback-days) or fetch more history"
            )


def _knowledge_cutoff(request: ExperimentRequest, ctx: Context, last_bar: date | None) -> None:
    """The firewall: an LLM labeler is not ranked on points its model may remember (all of them
    before its training-data cutoff) unless the analyst insists with --force."""
    if "llm" not in request.labelers or request.force or last_bar is None:
        return
    cutoff = ctx.settings.knowledge_cutoff
    if last_bar <= cutoff:
        raise BadInput(
            f"the window of {request.symbol} {request.timeframe} ends {last_bar.isoformat()}, before the "
            f"knowledge cutoff of {ctx.settings.llm_model} ({cutoff.isoformat()}): the LLM labeler may "
            "remember what the prices did, so ranking it would measure memory, not skill. Use a window "
            "after the cutoff, a model with a later cutoff (LLM_KNOWLEDGE_CUTOFF overrides the table), "
            "or --force to run it anyway (the result is marked as forced)"
        )


@check.register
def _retrain(request: RetrainRequest, ctx: Context) -> None:
    return None  # a pair without enough closed samples is skipped with its reason, not refused


@check.register
def _trigger(request: TriggerRequest, ctx: Context) -> None:
    return None  # the trigger says why it did not start instead of refusing
