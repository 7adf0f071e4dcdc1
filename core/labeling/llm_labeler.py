"""The LLM analyst as the service sees it: build each point's request, then run them concurrently."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from core.context import Context
from core.data.providers.base import Headline
from core.labeling.anonymize import anonymize
from core.labeling.context import build_contexts
from core.labeling.llm import cache, ledger
from core.labeling.llm.batch_run import BatchLabelRun
from core.labeling.llm.runner import LLMLabelRun, PointRequest, RunStop, request_params
from core.labeling.prompt import PROMPT_VERSION, build_messages
from core.labeling.schema import default_horizon
from core.labeling.writer import LabelWriter
from core.llm_providers import LLM_PROVIDERS, make_wire
from core.settings import Settings
from core.timeframes import parse_timeframe

T = TypeVar("T")
log = logging.getLogger(__name__)

FUTURE_BARS = 0  # the analyst sees nothing after the point
NEWS_WINDOW = timedelta(days=2)


def news_applies(as_of: pd.Timestamp, timeframe: str, now: datetime) -> bool:
    """Whether a point is current: undated headlines describe today, so only a current point may get them."""
    window = max(NEWS_WINDOW, 3 * parse_timeframe(timeframe).nominal)
    return as_of >= pd.Timestamp(now) - window


def headlines_for(
    news: Sequence[Headline | str], as_of: pd.Timestamp, timeframe: str, now: datetime
) -> tuple[list[str], int]:
    """The headlines a point may see, and how many were held back (point-in-time news).

    A dated headline is used when it was published at or before the point and within the news
    window before it; one published after the point would tell the model the future, so it is
    dropped and counted. An undated headline is used only for a current point.
    """
    window = max(NEWS_WINDOW, 3 * parse_timeframe(timeframe).nominal)
    current = news_applies(as_of, timeframe, now)
    used: list[str] = []
    dropped = 0
    for item in news:
        title, published = (item, None) if isinstance(item, str) else (item.title, item.published_at)
        if published is None:
            if current:
                used.append(title)
            else:
                dropped += 1
        elif published > as_of:
            dropped += 1
        elif published >= as_of - window:
            used.append(title)
    return used, dropped


def anonymizes(settings: Settings, pre_cutoff: bool) -> bool:
    """LLM_ANONYMIZE: `auto` anonymizes the points the model may remember (before its cutoff)."""
    return settings.llm_anonymize == "on" or (settings.llm_anonymize == "auto" and pre_cutoff)


def prepare_points(
    settings: Settings,
    symbol: str,
    timeframe: str,
    bars: pd.DataFrame,
    features: pd.DataFrame,
    positions: np.ndarray,
    news: Sequence[Headline | str],
    now: datetime | None = None,
) -> list[PointRequest]:
    """One request per point: its context (point-in-time news, anonymized where the settings say),
    messages, cache key and the firewall's verdict (the cutoff, and whether the point is before it)."""
    now = now or datetime.now(UTC)
    options = settings.llm_options
    provider, model = options.provider, options.model
    cutoff = settings.knowledge_cutoff
    params = request_params(options)
    intraday = parse_timeframe(timeframe).intraday
    stamps = bars.index[np.asarray(positions, dtype=np.int64)]
    chosen = [headlines_for(news, ts, timeframe, now) for ts in stamps]
    contexts = build_contexts(symbol, timeframe, bars, features, positions, [used for used, _ in chosen])
    points = []
    for as_of, context, (_, dropped) in zip(stamps, contexts, chosen, strict=True):
        context["default_horizon_bars"] = default_horizon(timeframe)
        real_price = float(context["current_price"])
        pre_cutoff = as_of.date() <= cutoff
        factor = 1.0
        if anonymizes(settings, pre_cutoff):
            dropped += len(context["news"])
            context, factor = anonymize(context, intraday=intraday)
        messages = build_messages(context)
        points.append(
            PointRequest(
                ts=as_of.to_pydatetime(),
                current_price=real_price,
                context=context,
                messages=messages,
                key=cache.cache_key(provider, model, messages, params, PROMPT_VERSION),
                reserve_usd=ledger.reservation_usd(settings, model, messages),
                price_factor=factor,
                knowledge_cutoff=cutoff,
                pre_cutoff=pre_cutoff,
                news_dropped=dropped,
            )
        )
    return points


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous code, even when the calling thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llm-run") as pool:
        return pool.submit(asyncio.run, coro).result()


def uses_batch(settings: Settings, points: int, *, urgent: bool = False) -> bool:
    """LLM_BATCH: `on` for every run that can wait, `auto` for runs of LLM_BATCH_MIN_POINTS or more.

    Never for urgent work (the chart's quick training waits on it) nor for a provider without a
    batch API (Freddy), which labels synchronously whatever the setting.
    """
    if urgent or settings.llm_batch == "off" or not LLM_PROVIDERS.load(settings.llm_provider).batch_api:
        return False
    return settings.llm_batch == "on" or points >= settings.llm_batch_min_points


def label_points(
    ctx: Context,
    writer: LabelWriter,
    points: list[PointRequest],
    *,
    live_run: bool,
    bypass_cache: bool,
    on_done: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    deadline: float | None = None,
    batch: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> RunStop:
    """Label `points` through the configured provider; see `core.labeling.llm.runner`, or with
    `batch` through its batch API (`core.labeling.llm.batch_run`).

    `deadline` (a `time.monotonic()` value) ends a synchronous run there: no attempt outlasts it.
    """
    settings = ctx.settings
    with ctx.db.session() as session:
        lost = ledger.close_lost(session)  # rows left `sent` by a process that died
    if lost:
        log.warning("%d LLM requests of an earlier run ended with its process; charged as reserved", lost)
    if batch:
        return BatchLabelRun(
            settings=settings,
            wire=make_wire(settings),
            writer=writer,
            points=points,
            max_age_s=cache.max_age_for(settings, live_run),
            bypass_cache=bypass_cache,
            on_done=on_done,
            on_stage=on_stage,
            should_cancel=should_cancel,
        ).run()
    run = LLMLabelRun(
        settings=settings,
        wire=make_wire(settings),
        writer=writer,
        points=points,
        max_age_s=cache.max_age_for(settings, live_run),
        bypass_cache=bypass_cache,
        on_done=on_done,
        should_cancel=should_cancel,
        deadline=deadline,
    )
    return run_sync(run.run())
