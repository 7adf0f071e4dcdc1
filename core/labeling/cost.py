"""The cost estimate shown before an LLM run (CLI and Training page): calls × real prompt × price.

The prompt is built exactly as the run builds it, for a representative point of the chosen
window (its newest bar: a full candle history and every indicator), so its size is that of the
symbol's real prices and volumes. Prices come from the table the ledger and the budget use.
Without a window (no symbol given) a typical 5-minute point stands in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from core.context import Context
from core.data.supply import load_window
from core.errors import BadInput
from core.features.indicators import compute_features
from core.labeling.labelers import resolve_labeler
from core.labeling.llm import ledger
from core.labeling.llm_labeler import prepare_points, uses_batch
from core.llm_providers import not_configured
from core.llm_providers.wire import estimate_tokens
from core.settings import Settings
from core.timeframes import normalise_symbol, parse_timeframe

# Enough bars before the representative point for every indicator to be defined.
WARMUP_BARS = 400


@dataclass(frozen=True)
class Window:
    """The series and span a run will label (what the estimate builds its prompt from)."""

    symbol: str
    timeframe: str
    lookback_days: float | None = None
    end: datetime | None = None


def prompt_tokens(settings: Settings, symbol: str, timeframe: str, bars: pd.DataFrame) -> int:
    """Prompt tokens of the request for the newest bar of `bars`, built as a run builds it."""
    tail = bars.iloc[-WARMUP_BARS:]
    features = compute_features(tail)
    now = tail.index[-1].to_pydatetime()
    (point,) = prepare_points(settings, symbol, timeframe, tail, features, np.array([len(tail) - 1]), [], now)
    return sum(estimate_tokens(m["content"]) for m in point.messages)


def window_prompt_tokens(ctx: Context, window: Window) -> int:
    symbol, tf = normalise_symbol(window.symbol), parse_timeframe(window.timeframe).code
    bars, _ = load_window(ctx, symbol, tf, lookback_days=window.lookback_days, end=window.end)
    return prompt_tokens(ctx.settings, symbol, tf, bars)


@functools.cache
def _typical_bars() -> pd.DataFrame:
    n = 120
    close = 1000.0 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, n)))
    return pd.DataFrame(
        {"open": close, "high": close * 1.004, "low": close * 0.996, "close": close, "volume": 1.25e6},
        index=pd.date_range("2024-01-01 09:30", periods=n, freq="5min", tz="UTC"),
    )


def typical_prompt_tokens(settings: Settings) -> int:
    """Prompt tokens of a typical 5-minute point, when no window is named."""
    return prompt_tokens(settings, "RELIANCE.NS", "5m", _typical_bars())


def estimate_cost(
    ctx: Context, samples: int, labeler: str | None = None, window: Window | None = None
) -> dict[str, object]:
    """Upper-bound cost of labeling `samples` points (cached ones cost nothing), beside today's budget."""
    settings = ctx.settings
    name = resolve_labeler(settings, labeler)
    if name == "llm" and not settings.llm_configured:
        raise BadInput(not_configured())
    with ctx.db.read() as session:
        spent = ledger.spent_today(session)
    calls = max(0, int(samples)) if name == "llm" else 0
    per_call = 0
    if calls:
        per_call = window_prompt_tokens(ctx, window) if window else typical_prompt_tokens(settings)
    tokens_in = calls * per_call
    tokens_out = calls * ledger.EXPECTED_OUTPUT_TOKENS
    batch = bool(calls) and uses_batch(settings, calls)  # the batch API bills at the batch discount
    usd = ledger.cost_usd(settings, settings.llm_model, tokens_in, tokens_out, batch=batch) if calls else 0.0
    remaining = max(0.0, settings.llm_daily_budget_usd - spent)
    return {
        "labeler": name,
        "provider": settings.llm_provider if name == "llm" else None,
        "model": settings.llm_model if name == "llm" else None,
        "calls": calls,
        "prompt_tokens_per_call": per_call,
        "prompt_basis": ("window" if window else "typical") if calls else None,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "tokens": tokens_in + tokens_out,
        "usd": round(usd, 6),
        "batch": batch,
        "budget_usd": settings.llm_daily_budget_usd,
        "spent_today_usd": round(spent, 6),
        "budget_remaining_usd": round(remaining, 6),
        "within_budget": usd <= remaining,
    }
