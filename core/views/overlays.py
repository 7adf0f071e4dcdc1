"""What the chart draws over the candles: the active bots' latest calls, paper trades and labels.

Each function returns a plain frame (or list) bounded to the visible window, so the chart never
has to know where the rows came from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from core.context import Context
from core.labeling import store as label_store
from core.learning.queries import SampleFilter, list_samples
from core.registry.predict import latest_signals
from core.registry.versions import active_versions

log = logging.getLogger(__name__)

TRADE_COLUMNS = [
    "id",
    "bot",
    "version_id",
    "predicted_at",
    "recommendation",
    "confidence",
    "entry_price",
    "target",
    "stop_loss",
    "status",
    "exit_time",
    "exit_price",
    "exit_reason",
    "pnl_pct",
]


@dataclass(frozen=True)
class ActiveSignal:
    bot: str
    version_id: int | None
    as_of: datetime
    recommendation: str
    current_price: float
    target: float
    stop_loss: float
    confidence: float
    predicted_return: float
    model_created_at: datetime | None
    raw_confidence: float | None = None  # the model's own number; `confidence` is calibrated
    label: str = ""  # "xgb_agent v2": the bot's own version number

    @property
    def name(self) -> str:
        return self.label or self.bot


def active_signature(ctx: Context, symbol: str, timeframe: str) -> tuple[int, ...]:
    """The ids of the pair's active versions: a cheap key that changes when a new model goes live."""
    return tuple(v.version_id for v in active_versions(ctx.db, symbol, timeframe))


def signals(ctx: Context, symbol: str, timeframe: str) -> tuple[list[ActiveSignal], str | None]:
    """The newest bar's call of every active bot, and why there is none when the list is empty."""
    versions = {v.bot: v for v in active_versions(ctx.db, symbol, timeframe)}
    if not versions:
        return [], "No active model for this pair yet."
    try:
        found = latest_signals(ctx, symbol, timeframe)
    except Exception as exc:  # a broken artifact must not take the chart down with it
        log.warning("signals for %s %s failed", symbol, timeframe, exc_info=True)
        return [], f"Signals could not be computed: {exc}"
    out = [
        ActiveSignal(
            bot=name,
            version_id=s.version_id,
            as_of=s.as_of,
            recommendation=s.recommendation,
            current_price=s.current_price,
            target=s.target,
            stop_loss=s.stop_loss,
            confidence=s.confidence,
            predicted_return=s.predicted_return,
            model_created_at=versions[name].created_at if name in versions else None,
            raw_confidence=s.raw_confidence,
            label=versions[name].label if name in versions else name,
        )
        for name, s in sorted(found.items())
    ]
    missing = sorted(set(versions) - set(found))
    note = f"No signal from {', '.join(missing)} (model could not be loaded)." if missing else None
    return out, note


def paper_trades(
    ctx: Context, symbol: str, timeframe: str, start: datetime, limit: int = 500
) -> pd.DataFrame:
    """Recorded paper (or live) trades of the pair opened at or after `start`, newest last."""
    filters = SampleFilter(symbol=symbol, timeframe=timeframe, since=start)
    rows = list_samples(ctx.db, filters, limit=limit).samples
    frame = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    for column in ("predicted_at", "exit_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.iloc[::-1].reset_index(drop=True)


def latest_label_set_id(ctx: Context, symbol: str, timeframe: str) -> int | None:
    sets = label_store.label_sets(ctx.db, symbol, timeframe, limit=20)
    for label_set in sets:
        if label_set.labeled:
            return label_set.id
    return sets[0].id if sets else None


def labels_in_window(ctx: Context, label_set_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """Accepted labels of a set inside [start, end] (index: bar time)."""
    labels = label_store.read_labels(ctx.db, label_set_id)
    return labels[(labels.index >= start) & (labels.index <= end)]
