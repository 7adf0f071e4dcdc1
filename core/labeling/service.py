"""The labeling engine's Python API: sample points of a series, label them, score them, store it all.

`run_labeling` is what the CLI, the dashboard and the job runner call. Bad input is refused
before anything is written (`BadInput`). Labels are written in batches as they complete, so a
crash, a budget stop, a refused key or a cancel keeps every finished label, and the label set
records how the run ended. Nothing stored before the run is modified.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from core.context import Context
from core.data.providers import MarketDataProvider, make_provider
from core.data.service import load_window
from core.errors import BadInput, JobCancelled, LLMAuthError
from core.features.indicators import compute_features
from core.labeling import llm_labeler, store
from core.labeling.cost import estimate_cost
from core.labeling.labelers import OfflineLabeler, make_offline_labeler, resolve_labeler
from core.labeling.llm.providers import NOT_CONFIGURED
from core.labeling.prompt import PROMPT_VERSION
from core.labeling.quality import score_label_set
from core.labeling.result import LabelingResult
from core.labeling.sampling import SAMPLINGS, sample_points
from core.labeling.writer import LabelWriter, Outcome
from core.timeframes import normalise_symbol, parse_timeframe

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
OFFLINE_CHUNK = 5_000  # points per batch for offline labelers: progress and cancel in between

__all__ = ["LabelingResult", "estimate_cost", "run_labeling"]


class _Stopped(Exception):
    def __init__(self, status: str, message: str, error: BaseException) -> None:
        super().__init__(message)
        self.status, self.message, self.error = status, message, error


def _check_inputs(samples: int, sampling: str, lookback_days: float | None) -> None:
    if not isinstance(samples, int) or samples < 1:
        raise BadInput("--samples must be a whole number of at least 1")
    if sampling not in SAMPLINGS:
        raise BadInput(f"unknown sampling {sampling!r}; use one of {', '.join(SAMPLINGS)}")
    if lookback_days is not None and not (math.isfinite(lookback_days) and lookback_days > 0):
        raise BadInput("--lookback-days must be a positive number of days")


def run_labeling(
    ctx: Context,
    symbol: str,
    timeframe: str,
    *,
    lookback_days: float | None = None,
    samples: int = 50,
    labeler: str | None = None,
    sampling: str = "mixed",
    seed: int = 0,
    refresh: bool = False,
    bypass_cache: bool = False,
    progress: ProgressFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
    job_id: int | None = None,
    now: datetime | None = None,
    end: datetime | None = None,
) -> LabelingResult:
    """Label `samples` points of (symbol, timeframe) with `labeler` and return the run's summary.

    `end` labels the window as of a past time: only bars at or before it are used, so the bars
    after it stay unseen by anything trained on these labels (an honest replay can follow).

    Budget exhaustion returns normally with status `budget_exhausted`. A refused API key raises
    `LLMAuthError`, a cancel raises `JobCancelled`; in both cases the label set is stored first with
    that status and its finished labels.
    """
    started = time.perf_counter()
    report = progress or (lambda _f, _s: None)
    settings = ctx.settings
    symbol, tf = normalise_symbol(symbol), parse_timeframe(timeframe).code
    name = resolve_labeler(settings, labeler)
    _check_inputs(samples, sampling, lookback_days)
    if name == "llm" and not settings.llm_configured:
        raise BadInput(NOT_CONFIGURED)

    report(0.0, "loading bars")
    # bypass_cache skips both caches: the market-data freshness window (on refresh) and LLM replies.
    bars, fetched = load_window(
        ctx, symbol, tf, lookback_days=lookback_days, refresh=refresh, bypass_cache=bypass_cache, now=now,
        end=end,
    )  # fmt: skip
    features = compute_features(bars)
    offline = None if name == "llm" else make_offline_labeler(name, tf)
    future_bars = llm_labeler.FUTURE_BARS if offline is None else offline.future_bars
    positions = sample_points(features, samples, method=sampling, seed=seed, future_bars=future_bars)
    requested = len(positions)
    market = make_provider(settings.market_data_provider, settings)
    # A live run works on just-fetched bars; a failed fetch (stale) falls back to stored history.
    live_run = bool(refresh and market.live and fetched is not None and not fetched.stale)

    params: dict[str, object] = {
        "samples_asked": samples,
        "lookback_days": lookback_days,
        "refresh": refresh,
        "bypass_cache": bypass_cache,
        "end": end.isoformat() if end else None,
        "market_data_provider": market.name,
        "live_run": live_run,
        "future_bars": future_bars,
    }
    if offline is not None:
        params["labeler_params"] = offline.params()
    else:
        options = settings.llm_options
        params.update(
            temperature=options.temperature,
            concurrency=options.concurrency,
            max_retries=options.max_retries,
            timeout_s=options.timeout_s,
            max_reply_bytes=options.max_reply_bytes,
        )
    with ctx.db.session() as session:
        label_set_id = store.create_label_set(
            session,
            symbol=symbol,
            timeframe=tf,
            labeler=name,
            provider=settings.llm_provider if offline is None else None,
            model=settings.llm_model if offline is None else None,
            prompt_version=PROMPT_VERSION if offline is None else None,
            sampling=sampling,
            seed=seed,
            lookback_days=None if lookback_days is None else math.ceil(lookback_days),
            requested=requested,
            params=params,
            data_start=bars.index[0].to_pydatetime(),
            data_end=bars.index[-1].to_pydatetime(),
            job_id=job_id,
        ).id
    writer = LabelWriter(ctx.db, label_set_id)
    note = (
        None if requested == samples else f"only {requested} eligible points in the window (asked {samples})"
    )
    log.info(
        "labeling %d points of %s %s with %s (label set %d, %s sampling, seed %d)",
        requested,
        symbol,
        tf,
        name,
        label_set_id,
        sampling,
        seed,
    )

    def on_done(done: int, rejected: int) -> None:
        """Progress for the caller; for the LLM also the operators' "Freddy AI" line every ~10 %."""
        report(0.05 + 0.9 * done / max(requested, 1), f"labeling {done}/{requested}")
        if offline is None and (done == requested or done % max(1, requested // 10) == 0):
            log.info(
                "Freddy AI labeled %d/%d points of %s %s (label set %d, %d rejected so far)",
                done,
                requested,
                symbol,
                tf,
                label_set_id,
                rejected,
            )

    status, message = "succeeded", note
    try:
        if offline is None:
            points = llm_labeler.prepare_points(
                settings, symbol, tf, bars, features, positions, _news(market, symbol, name), now
            )
            stop = llm_labeler.label_points(
                ctx,
                writer,
                points,
                live_run=live_run,
                bypass_cache=bypass_cache,
                on_done=on_done,
                should_cancel=should_cancel,
            )
            if stop.reason == "auth_failed":
                raise _Stopped(
                    "auth_failed", stop.message or "credentials refused", stop.error or LLMAuthError()
                )
            if stop.reason == "cancelled":
                raise _Stopped(
                    "cancelled", stop.message or "cancelled", JobCancelled(stop.message or "cancelled")
                )
            if stop.reason == "budget_exhausted":
                status, message = "budget_exhausted", stop.message
        else:
            _label_offline(offline, writer, bars, features, positions, on_done, should_cancel)
    except _Stopped as stopped:
        result = _finish(ctx, writer, started, stopped.status, stopped.message, bars)
        log.warning("label set %d stopped (%s): %s", label_set_id, stopped.status, stopped.message)
        kept = (
            f"label set {label_set_id} keeps {result.labeled} labels, "
            f"{result.not_attempted} points not attempted"
        )
        error = type(stopped.error)(f"{stopped.message} ({kept})")
        error.result = result  # type: ignore[attr-defined]
        raise error from None
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            _finish(ctx, writer, started, status, f"{type(exc).__name__}: {exc}"[:500], bars, score=False)
        except Exception:  # recording the failure must not hide the failure itself
            log.exception("could not record the end of label set %d", label_set_id)
        raise

    report(0.96, "scoring quality")
    result = _finish(ctx, writer, started, status, message, bars)
    report(1.0, "done")
    log.info(
        "AI training labels ready: label set %d (%s) %s %s: %d labeled, %d rejected, %d API calls, "
        "%d cache hits, $%.4f, %.1f s [%s]",
        label_set_id,
        name,
        symbol,
        tf,
        result.labeled,
        result.rejected,
        result.api_calls,
        result.cache_hits,
        result.cost_usd,
        result.wall_s,
        result.status,
    )
    return result


def _news(market: MarketDataProvider, symbol: str, labeler: str) -> list[str]:
    """Headlines only from a live market provider, and only for the LLM analyst."""
    if labeler != "llm" or not market.live:
        return []
    return list(market.news(symbol))


def _label_offline(
    labeler: OfflineLabeler,
    writer: LabelWriter,
    bars: pd.DataFrame,
    features: pd.DataFrame,
    positions: np.ndarray,
    on_done: Callable[[int, int], None],
    should_cancel: Callable[[], bool] | None,
) -> None:
    done = rejected = 0
    for start in range(0, len(positions), OFFLINE_CHUNK):
        if should_cancel is not None and should_cancel():
            message = "cancelled on request; finished labels are kept"
            raise _Stopped("cancelled", message, JobCancelled(message))
        chunk = positions[start : start + OFFLINE_CHUNK]
        records = labeler.label(bars, features, chunk)
        writer.write([Outcome(r) for r in records])
        done += len(chunk)
        rejected += sum(not r.accepted for r in records)
        on_done(done, rejected)


def _finish(
    ctx: Context,
    writer: LabelWriter,
    started: float,
    status: str,
    message: str | None,
    bars: pd.DataFrame,
    *,
    score: bool = True,
) -> LabelingResult:
    set_id = writer.label_set_id
    quality: dict[str, object] = {}
    if score and writer.totals.labeled:
        quality = score_label_set(ctx, set_id, bars=bars)
    t = writer.totals
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
        return LabelingResult(
            label_set_id=set_id,
            symbol=label_set.symbol,
            timeframe=label_set.timeframe,
            labeler=label_set.labeler,
            requested=label_set.requested,
            labeled=t.labeled,
            rejected=t.rejected,
            not_attempted=not_attempted,
            status=status,
            message=message,
            api_calls=t.api_calls,
            http_attempts=t.http_attempts,
            cache_hits=t.cache_hits,
            tokens_in=t.tokens_in,
            tokens_out=t.tokens_out,
            tokens_estimated=t.tokens_estimated,
            cost_usd=t.cost_usd,
            wall_s=wall,
            provider=label_set.provider,
            model=label_set.model,
            prompt_version=label_set.prompt_version,
            sampling=label_set.sampling,
            seed=label_set.seed,
            data_start=label_set.data_start,
            data_end=label_set.data_end,
            quality=quality,
        )
