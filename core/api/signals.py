"""What a trading engine polls: the active bots' calls at the newest stored bar, with how long
each stays actionable, the indicators it saw, and an honest reason when there is nothing to act on.

A call made at bar `as_of` speaks about the next `horizon_bars` bars (the horizon the labels and
the paper trader use), so it is valid until `as_of + horizon_bars × bar length`; an engine that
finds `stale` true (or its own clock past `valid_until`) must not act on it. Bar lengths are
nominal (a day for 1d), so weekends make the window shorter in trading time, never longer.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.api.evidence import evidence_of
from core.bots.signal import signal_from_row
from core.context import Context
from core.data import store as bar_store
from core.db.types import utcnow
from core.features.indicators import FEATURE_COLUMNS, compute_features
from core.labeling.schema import default_horizon
from core.registry.predict import HISTORY_BARS, active_models, batch_signals
from core.registry.versions import VersionView
from core.requests import PairRequest
from core.timeframes import parse_timeframe


def _features(row: Any) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in FEATURE_COLUMNS:
        value = float(row[name])
        out[name] = value if math.isfinite(value) else None
    return out


def _empty(pair: PairRequest, horizon: int, reason: str, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "symbol": pair.symbol,
        "timeframe": pair.timeframe,
        "as_of": None,
        "horizon_bars": horizon,
        "signals": [],
        "features": {},
        "errors": errors,
        "reason": reason,
    }


def _call(
    ctx: Context, bot: str, frame: pd.DataFrame, version: VersionView, span: timedelta, now: datetime
) -> dict[str, Any]:
    """One bot's newest call, with how long it stays valid and the evidence behind its version."""
    signal = signal_from_row(bot, frame.index[-1], frame.iloc[-1], version.version_id)
    valid_until = signal.as_of + span
    return {
        **signal.as_json(),
        "bot_version": version.bot_version,
        "gate_verdict": version.gate_verdict,
        "evidence": evidence_of(version.metrics, ctx.settings),
        "valid_until": valid_until,
        "stale": valid_until <= now,
    }


def latest_calls(ctx: Context, pair: PairRequest, now: datetime | None = None) -> dict[str, Any]:
    """The `GET /ai/signals` answer for a pair (shape: `core.api.schemas.Signals`)."""
    now = now or utcnow()
    symbol, tf = pair.symbol, pair.timeframe
    horizon = default_horizon(tf)
    span = parse_timeframe(tf).nominal * horizon
    models, errors = active_models(ctx, symbol, tf)
    if not models:
        why = "; ".join(f"{bot}: {msg}" for bot, msg in errors.items())
        reason = (
            f"no version of {symbol} {tf} is live"
            + (f" (active models could not be loaded: {why})" if why else "")
            + ": train one (POST /api/ai-training/generate-dataset) or activate a version"
        )
        return _empty(pair, horizon, reason, errors)
    bars = bar_store.read_bars(ctx.db, symbol, tf, limit=HISTORY_BARS)
    if bars.empty:
        return _empty(pair, horizon, f"no bars of {symbol} {tf} are stored", errors)
    features = compute_features(bars)
    last = np.array([len(bars) - 1])
    frames = batch_signals(ctx, symbol, tf, bars, positions=last, features=features)
    signals = [
        _call(ctx, name, frame, models[name].version, span, now) for name, frame in sorted(frames.items())
    ]
    as_of = bars.index[-1].to_pydatetime()
    reason = None
    if signals and all(s["stale"] for s in signals):
        reason = (
            f"the newest stored bar of {symbol} {tf} is {as_of.isoformat()}; its calls were valid until "
            f"{(as_of + span).isoformat()}: refresh the bars (`python -m core data fetch`) for a current call"
        )
    return {
        "symbol": symbol,
        "timeframe": tf,
        "as_of": as_of,
        "horizon_bars": horizon,
        "signals": signals,
        "features": _features(features.iloc[-1]),
        "errors": errors,
        "reason": reason,
    }
