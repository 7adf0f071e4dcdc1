"""Label sets for the Labels page: the sets of a pair, their labels, one label in full, quality,
agreement between labelers and cost."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

import pandas as pd

from core.context import Context
from core.data import store as bar_store
from core.evaluation.stats import wilson
from core.labeling import probe, store
from core.labeling.comparison import compare_with_offline
from core.labeling.cost import Window, estimate_cost
from core.labeling.llm.batch_run import newest_batch
from core.labeling.llm.ledger import call_summary
from core.labeling.schema import default_horizon

TABLE_COLUMNS = [
    "id",
    "ts",
    "status",
    "recommendation",
    "confidence",
    "current_price",
    "target",
    "stop_loss",
    "outcome",
    "outcome_return",
    "outcome_bars",
    "horizon_bars",
    "reject_reason",
    "pre_cutoff",
]


@dataclass(frozen=True)
class LabelSetRow:
    id: int
    labeler: str
    provider: str | None
    model: str | None
    status: str
    sampling: str
    lookback_days: int | None
    requested: int
    labeled: int
    rejected: int
    api_calls: int
    cache_hits: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    wall_s: float
    created_at: datetime
    message: str | None
    quality: dict[str, Any]
    knowledge_cutoff: date | None = None  # the LLM's training-data cutoff (None: offline labeler)
    invalid_replies: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def firewall(self) -> dict[str, Any]:
        """How the set's labels fall around the model's cutoff (empty for offline labelers)."""
        return dict(self.quality.get("firewall") or {})

    @property
    def remembered(self) -> dict[str, Any]:
        """The quality of the labels before the cutoff: shown apart, as possibly remembered."""
        return dict(self.quality.get("possibly_remembered") or {})

    @property
    def title(self) -> str:
        return f"#{self.id} · {self.labeler} · {self.labeled} labels · {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def of(cls, s: store.LabelSetView, labeled_now: int | None = None) -> LabelSetRow:
        """The store's view, field by field by name (a running set with the count written so far)."""
        shared = {f.name: getattr(s, f.name) for f in fields(cls)}
        return cls(
            **shared
            | {
                "labeled": labeled_now if labeled_now is not None else s.labeled,
                "quality": dict(s.quality or {}),
                "params": dict(s.params or {}),
            }
        )


def label_sets(ctx: Context, symbol: str, timeframe: str) -> list[LabelSetRow]:
    """Newest first; a running set shows how many labels it has written so far."""
    sets = store.label_sets(ctx.db, symbol, timeframe)
    written = store.accepted_counts(ctx.db, [s.id for s in sets if s.status == "running"])
    return [LabelSetRow.of(s, written.get(s.id) if s.status == "running" else None) for s in sets]


def labels_table(ctx: Context, label_set_id: int) -> pd.DataFrame:
    """Every label of the set, rejected ones included (with why), oldest first."""
    frame = store.read_labels(ctx.db, label_set_id, accepted_only=False).reset_index()
    return frame[[c for c in TABLE_COLUMNS if c in frame.columns]]


@dataclass(frozen=True)
class LabelDetail:
    id: int
    ts: datetime
    status: str
    reject_reason: str | None
    recommendation: str | None
    bias: str | None
    confidence: float | None
    current_price: float
    target: float | None
    stop_loss: float | None
    horizon_bars: int
    reasoning: str | None
    raw_reply: str | None
    context: dict[str, Any] | None
    outcome: str | None
    outcome_return: float | None
    outcome_bars: int | None
    call: dict[str, Any] | None  # the ledger row of the LLM request, when there was one
    path: pd.DataFrame  # bars from a little before the label to past its horizon
    knowledge_cutoff: date | None = None
    pre_cutoff: bool | None = None

    @property
    def anonymized(self) -> bool:
        return bool((self.context or {}).get("anonymized"))


def label_detail(ctx: Context, label_id: int, bars_before: int = 10) -> LabelDetail | None:
    label = store.label(ctx.db, label_id)
    if label is None:
        return None
    label_set = store.label_set(ctx.db, label.label_set_id)
    horizon = label.horizon_bars or default_horizon(label_set.timeframe)
    call_info = call_summary(ctx.db, label.llm_call_id) if label.llm_call_id else None
    symbol, timeframe = label_set.symbol, label_set.timeframe
    before = bar_store.read_bars(ctx.db, symbol, timeframe, end=label.ts, limit=bars_before + 1)
    after = bar_store.read_bars(ctx.db, symbol, timeframe, start=label.ts, limit=None)
    after = after.iloc[: horizon + 6]
    path = pd.concat([before, after])
    return LabelDetail(
        label.id,
        label.ts,
        label.status,
        label.reject_reason,
        label.recommendation,
        label.bias,
        label.confidence,
        label.current_price,
        label.target,
        label.stop_loss,
        int(horizon),
        label.reasoning,
        label.raw_reply,
        label.context,
        label.outcome,
        label.outcome_return,
        label.outcome_bars,
        call_info,
        path[~path.index.duplicated()],
        label.knowledge_cutoff,
        label.pre_cutoff,
    )


def quality(ctx: Context, label_set_id: int) -> dict[str, Any]:
    """The stored quality summary of the set (scored when the run finished, or on rescoring)."""
    return dict(store.label_set(ctx.db, label_set_id).quality or {})


def agreement(ctx: Context, label_set_id: int) -> pd.DataFrame:
    """How often this set's calls match the rule and hindsight labelers on exactly its points."""
    result = compare_with_offline(ctx, label_set_id)
    rows = []
    for name, stats in (result.get("against") or {}).items():
        rows.append(
            {
                "against": name,
                "shared_points": stats.get("shared"),
                "agreement": stats.get("agreement"),
                "direction_agreement": stats.get("direction_agreement"),
                "directional_shared": stats.get("directional_shared"),
                "kappa": stats.get("kappa"),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "against",
            "shared_points",
            "agreement",
            "direction_agreement",
            "directional_shared",
            "kappa",
        ],
    )


def cost_estimate(
    ctx: Context,
    samples: int,
    labeler: str | None,
    symbol: str | None = None,
    timeframe: str | None = None,
    lookback_days: float | None = None,
) -> dict[str, Any]:
    """The estimate before a run; with the pair (and lookback) its prompt is built from that window."""
    window = Window(symbol, timeframe, lookback_days) if symbol and timeframe else None
    return estimate_cost(ctx, samples, labeler, window)


def calibration_buckets(q: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Target-before-stop rate per confidence bucket with its 95 % interval (empty buckets left out)."""

    out: dict[str, dict[str, Any]] = {}
    for row in q.get("calibration") or []:
        n, rate = int(row.get("count") or 0), row.get("target_first_rate")
        if n and rate is not None:
            out[str(row["bucket"])] = {"count": n, "hit_rate": rate, "ci": wilson(round(rate * n), n)}
    return out


def batch_progress(ctx: Context, label_set_id: int) -> str | None:
    """The provider batch of a running set, as "batch in_progress: 120/500 done"; None without one."""
    batch = newest_batch(ctx.db, label_set_id)
    if batch is None:
        return None
    return f"batch {batch.status}: {batch.completed + batch.failed}/{batch.requests} done"


def last_probe(ctx: Context) -> dict[str, Any] | None:
    """The newest recall probe of the configured model (`python -m core llm probe`)."""
    return probe.last_probe(ctx, ctx.settings.llm_model)
