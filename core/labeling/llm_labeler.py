"""The LLM analyst as the service sees it: build each point's request, then run them concurrently."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from core.context import Context
from core.labeling.context import build_contexts
from core.labeling.llm import cache, ledger
from core.labeling.llm.runner import LLMLabelRun, PointRequest, RunStop, request_params
from core.labeling.prompt import PROMPT_VERSION, build_messages
from core.labeling.schema import default_horizon
from core.labeling.writer import LabelWriter
from core.llm_providers import make_wire
from core.settings import Settings
from core.timeframes import parse_timeframe

T = TypeVar("T")
log = logging.getLogger(__name__)

FUTURE_BARS = 0  # the analyst sees nothing after the point
NEWS_WINDOW = timedelta(days=2)


def news_applies(as_of: pd.Timestamp, timeframe: str, now: datetime) -> bool:
    """Today's headlines describe today: attaching them to an old point would leak the future into it."""
    window = max(NEWS_WINDOW, 3 * parse_timeframe(timeframe).nominal)
    return as_of >= pd.Timestamp(now) - window


def prepare_points(
    settings: Settings,
    symbol: str,
    timeframe: str,
    bars: pd.DataFrame,
    features: pd.DataFrame,
    positions: np.ndarray,
    news: list[str],
    now: datetime | None = None,
) -> list[PointRequest]:
    """One request per point: its context (with today's headlines only if recent), messages and cache key."""
    now = now or datetime.now(UTC)
    options = settings.llm_options
    provider, model = options.provider, options.model
    params = request_params(options)
    stamps = bars.index[np.asarray(positions, dtype=np.int64)]
    headlines = [news if news and news_applies(ts, timeframe, now) else [] for ts in stamps]
    contexts = build_contexts(symbol, timeframe, bars, features, positions, headlines)
    points = []
    for as_of, context in zip(stamps, contexts, strict=True):
        context["default_horizon_bars"] = default_horizon(timeframe)
        messages = build_messages(context)
        points.append(
            PointRequest(
                ts=as_of.to_pydatetime(),
                current_price=float(context["current_price"]),
                context=context,
                messages=messages,
                key=cache.cache_key(provider, model, messages, params, PROMPT_VERSION),
                reserve_usd=ledger.reservation_usd(settings, model, messages),
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
) -> RunStop:
    """Label `points` through the configured provider; see `core.labeling.llm.runner`.

    `deadline` (a `time.monotonic()` value) ends the run there: no attempt outlasts it.
    """
    settings = ctx.settings
    with ctx.db.session() as session:
        lost = ledger.close_lost(session)  # rows left `sent` by a process that died
    if lost:
        log.warning("%d LLM requests of an earlier run ended with its process; charged as reserved", lost)
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
