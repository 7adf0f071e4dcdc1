"""Model versions for the Models page: a list with the change against the active version, a
side-by-side comparison, the activation timeline, and the activate / rollback actions.

Accuracies always travel with their count and 95 % interval and sit beside the naive baseline:
the registry's metrics carry `<name>_n` and `<name>_ci` for every proportion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.bots import BOTS
from core.context import Context
from core.registry import activation
from core.registry.versions import VersionView, active_versions, get_version, list_versions, versions_by_id

# (metric key, label, kind): kind decides formatting (pct, pp, ret, err, num, int).
METRICS: tuple[tuple[str, str, str], ...] = (
    ("directional_accuracy", "Directional accuracy (out of sample)", "pct"),
    ("baseline_directional_accuracy", "Naive baseline", "pct"),
    ("directional_edge", "Edge over baseline", "pp"),
    ("directional_effective_n", "Independent out-of-sample points", "int"),
    ("directional_edge_p_value", "p-value of the edge (McNemar)", "num"),
    ("signal_accuracy", "Accuracy of BUY/SELL calls", "pct"),
    ("hit_rate", "Trade hit rate", "pct"),
    ("trades", "Trades followed", "int"),
    ("pnl", "P&L (compounded trade returns)", "ret"),
    ("avg_trade_return", "Average trade return", "ret"),
    ("max_drawdown", "Max drawdown (marked to market)", "ret"),
    ("price_error", "Price error at the horizon", "err"),
    ("price_error_baseline", "Price error of no change", "err"),
    ("information_coefficient", "Information coefficient", "num"),
    ("validation_accuracy", "Validation accuracy (vs labels)", "pct"),
    ("train_accuracy", "Train accuracy (vs labels)", "pct"),
    ("validation_mae", "Validation MAE (return)", "num"),
    ("live_accuracy", "Live accuracy (paper/live)", "pct"),
    ("train_points", "Training points", "int"),
    ("test_points", "Held-out points", "int"),
    ("purged_points", "Purged points", "int"),
)
PROPORTIONS = {key for key, _, kind in METRICS if kind == "pct"}
# Stored as the size of the fall (0.023); shown as the loss it is (-2.3 %), never with a plus sign.
LOSSES = {"max_drawdown"}


def _shown(key: str, value: Any) -> Any:
    return -abs(float(value)) if key in LOSSES and isinstance(value, int | float) else value


def version_label(v: VersionView) -> str:
    """ "xgb_agent v2": the bot's own number (the global id is `#5`, shown beside it where needed)."""
    return v.label


def versions(ctx: Context, symbol: str, timeframe: str) -> list[VersionView]:
    return list_versions(ctx.db, symbol=symbol, timeframe=timeframe)


def _num(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) else None


def version_table(ctx: Context, symbol: str, timeframe: str) -> pd.DataFrame:
    """One row per version with its key numbers and the change against its bot's active version."""
    rows = versions(ctx, symbol, timeframe)
    active = {v.bot: v for v in active_versions(ctx.db, symbol, timeframe)}
    records = []
    for v in rows:
        m = v.metrics
        ref = active.get(v.bot)
        edge, pnl = _num(m, "directional_edge"), _num(m, "pnl")
        ref_edge = _num(ref.metrics, "directional_edge") if ref else None
        ref_pnl = _num(ref.metrics, "pnl") if ref else None
        compare = ref is not None and ref.version_id != v.version_id
        records.append(
            {
                "version_id": v.version_id,
                "label": v.label,
                "bot": v.bot,
                "bot_version": v.bot_version,
                "active": v.is_active,
                "status": v.status,
                "type": v.training_type,
                "created_at": v.created_at,
                "directional_accuracy": _num(m, "directional_accuracy"),
                "n": m.get("directional_accuracy_n"),
                "effective_n": m.get("directional_effective_n"),
                "ci": m.get("directional_accuracy_ci"),
                "baseline": _num(m, "baseline_directional_accuracy"),
                "edge": edge,
                "edge_vs_active": (edge - ref_edge)
                if compare and edge is not None and ref_edge is not None
                else None,
                "pnl": pnl,
                "pnl_vs_active": (pnl - ref_pnl)
                if compare and pnl is not None and ref_pnl is not None
                else None,
                "trades": m.get("trades"),
                "validation_accuracy": _num(m, "validation_accuracy"),
                "live_accuracy": _num(m, "live_accuracy"),
                "label_set_id": v.label_set_id,
                "gate": (m.get("gate") or {}).get("reason") if isinstance(m.get("gate"), dict) else None,
                "gate_verdict": v.gate_verdict,
                "gate_reason": v.gate_reason,
            }
        )
    table = pd.DataFrame.from_records(records)
    if not table.empty:
        table["gate_reason"] = name_versions(ctx, list(table["gate_reason"]))
    return table


@dataclass(frozen=True)
class Comparison:
    labels: list[str]
    metrics: pd.DataFrame  # rows: metric label; columns: version labels; raw values
    kinds: dict[str, str]  # metric label -> kind
    counts: pd.DataFrame  # same shape: n of proportions (None elsewhere)
    intervals: pd.DataFrame  # same shape: [lo, hi] of proportions
    params: pd.DataFrame
    lineage: pd.DataFrame
    equity: dict[str, list[list[Any]]]
    calibration: dict[str, dict[str, dict[str, Any]]]
    importance: dict[str, dict[str, float]]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list) and len(value) > 8:
        out[prefix] = f"{len(value)} items"
    elif isinstance(value, list):
        out[prefix] = json.dumps(value)
    else:
        out[prefix] = value


def _table(per_version: dict[str, dict[str, Any]]) -> pd.DataFrame:
    flat = {}
    for label, data in per_version.items():
        row: dict[str, Any] = {}
        _flatten("", data, row)
        flat[label] = row
    frame = pd.DataFrame(flat)
    return frame.astype(object).where(frame.notna(), None).sort_index()


def compare(ctx: Context, version_ids: list[int]) -> Comparison:
    chosen = [get_version(ctx.db, vid) for vid in dict.fromkeys(version_ids)]
    labels = [version_label(v) for v in chosen]
    values, counts, intervals = {}, {}, {}
    for label, v in zip(labels, chosen, strict=True):
        m = v.metrics
        values[label] = {name: _shown(key, m.get(key)) for key, name, _ in METRICS}
        counts[label] = {name: m.get(f"{key}_n") if key in PROPORTIONS else None for key, name, _ in METRICS}
        intervals[label] = {
            name: m.get(f"{key}_ci") if key in PROPORTIONS else None for key, name, _ in METRICS
        }
    order = [name for _, name, _ in METRICS]
    lineage = {
        label: {k: val for k, val in v.lineage.items() if k != "parameters"}
        for label, v in zip(labels, chosen, strict=True)
    }
    for label, v in zip(labels, chosen, strict=True):
        lineage[label]["features"] = len(v.lineage.get("features") or [])
        lineage[label]["created_at"] = v.created_at.isoformat()
        lineage[label]["training_type"] = v.training_type
    return Comparison(
        labels=labels,
        metrics=pd.DataFrame(values).reindex(order),
        kinds={name: kind for _, name, kind in METRICS},
        counts=pd.DataFrame(counts).reindex(order),
        intervals=pd.DataFrame(intervals).reindex(order),
        params=_table({label: {"bot": v.bot, **v.params} for label, v in zip(labels, chosen, strict=True)}),
        lineage=_table(lineage),
        equity={
            label: list(v.metrics.get("equity_curve") or []) for label, v in zip(labels, chosen, strict=True)
        },
        calibration={
            label: dict(v.metrics.get("calibration") or {}) for label, v in zip(labels, chosen, strict=True)
        },
        importance={
            label: dict(v.metrics.get("feature_importance") or {})
            for label, v in zip(labels, chosen, strict=True)
        },
    )


def differing_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose values are not all equal across the columns (for the diff-only switch)."""
    if frame.empty or frame.shape[1] < 2:
        return frame
    keep = frame.apply(lambda row: len({json.dumps(v, default=str) for v in row}) > 1, axis=1)
    return frame[keep]


def timeline(ctx: Context, symbol: str, timeframe: str) -> pd.DataFrame:
    """Every activation of the pair's bots, newest first."""
    rows = []
    for bot in BOTS.names():
        for entry in activation.history(ctx.db, symbol, timeframe, bot):
            rows.append({"bot": bot, **entry})
    frame = pd.DataFrame(
        rows, columns=["bot", "version_id", "previous_version_id", "action", "actor", "reason", "created_at"]
    )
    if frame.empty:
        return frame
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame.sort_values("created_at", ascending=False).reset_index(drop=True)


def rollback_targets(ctx: Context, symbol: str, timeframe: str) -> dict[str, tuple[int, int]]:
    """Per bot with something to roll back to: (current active id, previous active id)."""
    out = {}
    for v in active_versions(ctx.db, symbol, timeframe):
        previous = activation.previous_active_id(ctx.db, symbol, timeframe, v.bot)
        if previous is not None:
            out[v.bot] = (v.version_id, previous)
    return out


def label_of(ctx: Context, version_id: int) -> str:
    """ "xgb_agent v2" for one version, for messages that name it."""
    return get_version(ctx.db, version_id).label


def version_labels(ctx: Context, symbol: str, timeframe: str) -> dict[int, str]:
    """Version id -> "xgb_agent v2", for tables that name versions by id."""
    return {v.version_id: v.label for v in versions(ctx, symbol, timeframe)}


# How stored texts cite a version: "rollback from version 8", "beats version 3: …", "version 2".
_VERSION_REF = re.compile(r"\b(?:model )?version #?(\d+)\b")


def name_versions(ctx: Context, texts: Sequence[str | None]) -> list[str | None]:
    """Texts that cite versions by id, with each known version named as people name it
    ("lstm_bot v1"). Audit rows, reasons and gate verdicts store the id, which nobody reads."""
    ids = {int(ref) for text in texts if text for ref in _VERSION_REF.findall(text)}
    labels = {i: v.label for i, v in versions_by_id(ctx.db, ids).items()}

    def named(match: re.Match[str]) -> str:
        return labels.get(int(match.group(1)), match.group(0))

    return [_VERSION_REF.sub(named, text) if text else text for text in texts]
