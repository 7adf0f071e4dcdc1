"""A fingerprint of what a pair's automatic training depends on: its stored series and the settings.

A quick job that failed on its input is not re-queued while this fingerprint stays the same: the
same data and the same settings would fail the same way. New bars, an import, or a changed
setting (the provider, the LLM, the quick-training numbers) change it, and the trigger tries again.
"""

from __future__ import annotations

import hashlib
import json

from core.context import Context
from core.data import store as bar_store


def input_fingerprint(ctx: Context, symbol: str, timeframe: str) -> str:
    s = ctx.settings
    with ctx.db.read() as session:
        series = bar_store.summarize(session, symbol, timeframe).as_json()
    facts = {
        "series": series,
        "settings": [
            s.market_data_provider,
            s.llm_provider,
            s.llm_configured,
            s.quick_lookback_days,
            s.quick_samples,
            s.quick_history_bars,
            list(s.quick_bots),
            s.walkforward_folds,
        ],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]
