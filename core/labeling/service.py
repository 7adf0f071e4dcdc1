"""The labeling engine's Python API: sample points of a series, label them, score them, store it all.

`label(ctx, request, reporter)` is what a label job, a training run's labeling stage and tests
call. The request is already valid (`core.requests`, `core.checks`). Labels are written in
batches as they complete, so a crash, a budget stop, a refused key or a cancel keeps every
finished label, and the label set records how the run ended; the returned `LabelingResult` says
the same (`status`). Nothing stored before the run is modified.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from core.context import Context
from core.data.providers import MarketDataProvider, make_provider
from core.data.providers.base import Headline
from core.data.supply import load_window
from core.errors import BadInput
from core.features.indicators import compute_features
from core.labeling import llm_labeler, store
from core.labeling.cost import estimate_cost
from core.labeling.labelers import OfflineLabeler, make_offline_labeler, resolve_labeler
from core.labeling.llm.runner import uses_schema
from core.labeling.prompt import PROMPT_VERSION
from core.labeling.quality import score_label_set
from core.labeling.result import LabelingAuthFailed, LabelingCancelled, LabelingResult
from core.labeling.sampling import sample_points
from core.labeling.writer import LabelWriter, Outcome
from core.llm_providers import not_configured
from core.reporting import NULL_REPORTER, Callbacks, Reporter
from core.requests import LabelingRequest, parse

log = logging.getLogger(__name__)

OFFLINE_CHUNK = 5_000  # points per batch for offline labelers: progress and cancel in between

__all__ = ["LabelingResult", "estimate_cost", "label", "run_labeling"]


@dataclass(frozen=True)
class _Plan:
    """What a run works on, decided before its label set exists."""

    request: LabelingRequest
    ctx: Context
    labeler: str
    offline: OfflineLabeler | None
    bars: pd.DataFrame
    features: pd.DataFrame
    positions: np.ndarray
    market: MarketDataProvider
    live_run: bool

    @property
    def future_bars(self) -> int:
        return llm_labeler.FUTURE_BARS if self.offline is None else self.offline.future_bars


def label(
    ctx: Context,
    request: LabelingRequest,
    reporter: Reporter = NULL_REPORTER,
    *,
    job_id: int | None = None,
    now: datetime | None = None,
) -> LabelingResult:
    """Label the request's points and return how the run ended (its label set says the same).

    `request.end` labels the window as of a past time: only bars at or before it are used, so the
    bars after it stay unseen by anything trained on these labels (an honest replay can follow).
    """
    started = time.perf_counter()
    ctx = ctx.for_llm_provider(request.llm_provider)
    reporter.progress(0.0, "loading bars")
    plan = _plan(ctx, request, now)
    writer = LabelWriter(ctx.db, _open_label_set(plan, job_id))
    try:
        status, message = _label(plan, writer, reporter, now)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            _finish(plan, writer, started, status, f"{type(exc).__name__}: {exc}"[:500], score=False)
        except Exception:  # recording the failure must not hide the failure itself
            log.exception("could not record the end of label set %d", writer.label_set_id)
        raise
    if status == "succeeded" and len(plan.positions) < request.samples:
        message = f"only {len(plan.positions)} eligible points in the window (asked {request.samples})"
    reporter.progress(0.96, "scoring quality")
    result = _finish(plan, writer, started, status, message)
    reporter.spend(label_set_id=result.label_set_id, llm_calls=result.api_calls, cost_usd=result.cost_usd)
    reporter.progress(1.0, "done")
    _log_done(result)
    return result


def _plan(ctx: Context, request: LabelingRequest, now: datetime | None) -> _Plan:
    name = resolve_labeler(ctx.settings, request.labeler)
    if name == "llm" and not ctx.settings.llm_configured:
        raise BadInput(not_configured())
    # bypass_cache skips both caches: the market-data freshness window (on refresh) and LLM replies.
    bars, fetched = load_window(
        ctx,
        request.symbol,
        request.timeframe,
        lookback_days=request.lookback_days,
        refresh=request.refresh,
        bypass_cache=request.bypass_cache,
        now=now,
        end=request.end,
    )
    features = compute_features(bars)
    offline = None if name == "llm" else make_offline_labeler(name, request.timeframe)
    future_bars = llm_labeler.FUTURE_BARS if offline is None else offline.future_bars
    positions = sample_points(
        features, request.samples, method=request.sampling, seed=request.seed, future_bars=future_bars
    )
    market = make_provider(ctx.settings.market_data_provider, ctx.settings)
    # A live run works on bars just fetched from a live provider: an imported series is used as
    # stored, and a failed fetch (stale) falls back to stored history.
    live_run = bool(request.refresh and fetched is not None and fetched.live and not fetched.stale)
    return _Plan(request, ctx, name, offline, bars, features, positions, market, live_run)


def _run_params(plan: _Plan) -> dict[str, Any]:
    """What the label set records about how it was made."""
    req, settings = plan.request, plan.ctx.settings
    params: dict[str, Any] = {
        "samples_asked": req.samples,
        "lookback_days": req.lookback_days,
        "refresh": req.refresh,
        "bypass_cache": req.bypass_cache,
        "end": req.end.isoformat() if req.end else None,
        "market_data_provider": plan.market.name,
        "live_run": plan.live_run,
        "future_bars": plan.future_bars,
    }
    if plan.offline is not None:
        params["labeler_params"] = plan.offline.params()
    else:
        options = settings.llm_options
        params.update(
            temperature=options.temperature,
            concurrency=options.concurrency,
            max_retries=options.max_retries,
            timeout_s=options.timeout_s,
            max_reply_bytes=options.max_reply_bytes,
            anonymize=settings.llm_anonymize,
            structured_outputs=uses_schema(options),
            knowledge_cutoff_known=settings.knowledge_cutoff_known,
        )
    return params


def _open_label_set(plan: _Plan, job_id: int | None) -> int:
    req, settings, llm = plan.request, plan.ctx.settings, plan.offline is None
    with plan.ctx.db.session() as session:
        label_set_id = store.create_label_set(
            session,
            symbol=req.symbol,
            timeframe=req.timeframe,
            labeler=plan.labeler,
            provider=settings.llm_provider if llm else None,
            model=settings.llm_model if llm else None,
            prompt_version=PROMPT_VERSION if llm else None,
            knowledge_cutoff=settings.knowledge_cutoff if llm else None,
            sampling=req.sampling,
            seed=req.seed,
            lookback_days=None if req.lookback_days is None else math.ceil(req.lookback_days),
            requested=len(plan.positions),
            params=_run_params(plan),
            data_start=plan.bars.index[0].to_pydatetime(),
            data_end=plan.bars.index[-1].to_pydatetime(),
            job_id=job_id,
        ).id
    log.info(
        "labeling %d points of %s %s with %s (label set %d, %s sampling, seed %d)",
        *(len(plan.positions), req.symbol, req.timeframe, plan.labeler, label_set_id, req.sampling, req.seed),
    )
    return label_set_id


def _progress(plan: _Plan, writer: LabelWriter, reporter: Reporter) -> Callable[[int, int], None]:
    """Progress for the caller; for the LLM also the operators' "Freddy AI" line every ~10 %."""
    requested, req = len(plan.positions), plan.request

    def on_done(done: int, rejected: int) -> None:
        t = writer.totals
        reporter.spend(label_set_id=writer.label_set_id, llm_calls=t.api_calls, cost_usd=t.cost_usd)
        reporter.progress(0.05 + 0.9 * done / max(requested, 1), f"labeling {done}/{requested}")
        if plan.offline is None and (done == requested or done % max(1, requested // 10) == 0):
            log.info(
                "Freddy AI labeled %d/%d points of %s %s (label set %d, %d rejected so far)",
                *(done, requested, req.symbol, req.timeframe, writer.label_set_id, rejected),
            )

    return on_done


def _label(
    plan: _Plan, writer: LabelWriter, reporter: Reporter, now: datetime | None
) -> tuple[str, str | None]:
    """Run the labeler over the points; the run's end status and message."""
    on_done = _progress(plan, writer, reporter)
    if plan.offline is not None:
        return _label_offline(plan, writer, on_done, reporter)
    req = plan.request
    news = _news(plan.market, req.symbol, plan.labeler) if plan.live_run else []
    points = llm_labeler.prepare_points(
        plan.ctx.settings, req.symbol, req.timeframe, plan.bars, plan.features, plan.positions, news, now
    )
    batch = llm_labeler.uses_batch(plan.ctx.settings, len(points), urgent=req.urgent)
    _note_points(plan, writer, points)
    _add_params(plan, writer, batch=batch)
    stop = llm_labeler.label_points(
        plan.ctx,
        writer,
        points,
        live_run=plan.live_run,
        bypass_cache=req.bypass_cache,
        on_done=on_done,
        should_cancel=reporter.cancelled,
        batch=batch,
        on_stage=lambda text: reporter.progress(0.05, text),
    )
    if stop.schema_fallback:
        _add_params(plan, writer, structured_outputs=False, structured_fallback=stop.schema_fallback)
    if stop.reason is not None:
        return stop.reason, stop.message
    t = writer.totals
    if t.labeled == 0 and t.failed_calls and t.failed_calls == t.api_calls:
        return (
            "failed",
            f"every LLM request failed ({t.failed_calls} of {t.api_calls}); see the rejected labels",
        )
    return "succeeded", None


def _add_params(plan: _Plan, writer: LabelWriter, **values: Any) -> None:
    with plan.ctx.db.session() as session:
        label_set = store.get_label_set(session, writer.label_set_id)
        label_set.params = {**(label_set.params or {}), **values}


def _note_points(plan: _Plan, writer: LabelWriter, points: list[llm_labeler.PointRequest]) -> None:
    """What the firewall decided for the run: points before the cutoff, anonymized, news held back."""
    _add_params(
        plan,
        writer,
        pre_cutoff_points=sum(bool(p.pre_cutoff) for p in points),
        anonymized_points=sum(p.price_factor != 1.0 for p in points),
        news_dropped=sum(p.news_dropped for p in points),
    )


def _news(market: MarketDataProvider, symbol: str, labeler: str) -> list[Headline]:
    """Headlines only from a live market provider, and only for the LLM analyst."""
    if labeler != "llm" or not market.live:
        return []
    return list(market.news(symbol))


def _label_offline(
    plan: _Plan, writer: LabelWriter, on_done: Callable[[int, int], None], reporter: Reporter
) -> tuple[str, str | None]:
    assert plan.offline is not None
    done = rejected = 0
    for start in range(0, len(plan.positions), OFFLINE_CHUNK):
        if reporter.cancelled():
            return "cancelled", "cancelled on request; finished labels are kept"
        chunk = plan.positions[start : start + OFFLINE_CHUNK]
        records = plan.offline.label(plan.bars, plan.features, chunk)
        writer.write([Outcome(r) for r in records])
        done += len(chunk)
        rejected += sum(not r.accepted for r in records)
        on_done(done, rejected)
    return "succeeded", None


def _finish(
    plan: _Plan, writer: LabelWriter, started: float, status: str, message: str | None, *, score: bool = True
) -> LabelingResult:
    ctx, set_id, t = plan.ctx, writer.label_set_id, writer.totals
    quality: dict[str, object] = {}
    if score and t.labeled:
        quality = score_label_set(ctx, set_id, bars=plan.bars)
    with ctx.db.session() as session:
        label_set = store.get_label_set(session, set_id)
        not_attempted = max(0, label_set.requested - t.labeled - t.rejected)
        label_set.params = {
            **(label_set.params or {}),
            "not_attempted": not_attempted,
            "http_attempts": t.http_attempts,
            "tokens_estimated": t.tokens_estimated,
        }
        wall = time.perf_counter() - started
        store.finish_label_set(
            session, set_id, status=status, message=message, wall_s=round(wall, 3), quality=quality or None
        )
        return LabelingResult.of(label_set, t, not_attempted=not_attempted, wall_s=wall, quality=quality)


def _log_done(result: LabelingResult) -> None:
    log.info(
        "AI training labels ready: label set %d (%s) %s %s: %d labeled, %d rejected, %d API calls, "
        "%d cache hits, $%.4f, %.1f s [%s]",
        *(result.label_set_id, result.labeler, result.symbol, result.timeframe, result.labeled),
        *(
            result.rejected,
            result.api_calls,
            result.cache_hits,
            result.cost_usd,
            result.wall_s,
            result.status,
        ),
    )


def run_labeling(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    reporter: Reporter = NULL_REPORTER,
    progress: Callable[[float, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    job_id: int | None = None,
    now: datetime | None = None,
    **options: Any,
) -> LabelingResult:
    """`label` for Python callers with plain options (`samples=…, labeler=…`), validated as a request.

    A refused key raises `LabelingAuthFailed` (an `LLMAuthError`) and a cancel `LabelingCancelled`
    (a `JobCancelled`), each carrying the stored result; every other end returns the result.
    """
    request = parse(LabelingRequest, symbol=symbol, timeframe=timeframe, **options)
    if progress is not None or should_cancel is not None:
        reporter = Callbacks(progress, should_cancel)
    result = label(ctx, request, reporter, job_id=job_id, now=now)
    kept = (
        f"label set {result.label_set_id} keeps {result.labeled} labels, {result.not_attempted} not attempted"
    )
    if result.status == "auth_failed":
        raise LabelingAuthFailed(f"{result.message} ({kept})", result)
    if result.status == "cancelled":
        raise LabelingCancelled(f"{result.message} ({kept})", result)
    return result
