"""The cost estimate shown before an LLM run (CLI and dashboard): points × expected tokens × price."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from core.context import Context
from core.errors import BadInput
from core.features.indicators import compute_features
from core.labeling.context import build_context
from core.labeling.labelers import resolve_labeler
from core.labeling.llm import ledger
from core.labeling.llm.base import estimate_tokens
from core.labeling.llm.providers import NOT_CONFIGURED
from core.labeling.prompt import build_messages


@functools.cache
def expected_prompt_tokens() -> int:
    """Prompt tokens of a typical request: a full 30-candle context, every indicator, no news."""
    n = 80
    close = 1000.0 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, n)))
    bars = pd.DataFrame(
        {"open": close, "high": close * 1.004, "low": close * 0.996, "close": close, "volume": 1.25e6},
        index=pd.date_range("2024-01-01 09:30", periods=n, freq="5min", tz="UTC"),
    )
    context = build_context("RELIANCE.NS", "5m", bars, compute_features(bars), n - 1)
    context["default_horizon_bars"] = 24
    return sum(estimate_tokens(m["content"]) for m in build_messages(context))


def estimate_cost(ctx: Context, samples: int, labeler: str | None = None) -> dict[str, object]:
    """Upper-bound cost of labeling `samples` points (cached ones cost nothing), beside today's budget."""
    settings = ctx.settings
    name = resolve_labeler(settings, labeler)
    if name == "llm" and not settings.llm_configured:
        raise BadInput(NOT_CONFIGURED)
    with ctx.db.read() as session:
        spent = ledger.spent_today(session)
    calls = max(0, int(samples)) if name == "llm" else 0
    tokens_in = calls * expected_prompt_tokens()
    tokens_out = calls * ledger.EXPECTED_OUTPUT_TOKENS
    usd = ledger.cost_usd(settings, settings.llm_model, tokens_in, tokens_out) if calls else 0.0
    remaining = max(0.0, settings.llm_daily_budget_usd - spent)
    return {
        "labeler": name,
        "provider": settings.llm_provider if name == "llm" else None,
        "model": settings.llm_model if name == "llm" else None,
        "calls": calls,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "tokens": tokens_in + tokens_out,
        "usd": round(usd, 6),
        "budget_usd": settings.llm_daily_budget_usd,
        "spent_today_usd": round(spent, 6),
        "budget_remaining_usd": round(remaining, 6),
        "within_budget": usd <= remaining,
    }
