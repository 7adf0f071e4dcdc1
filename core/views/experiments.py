"""Labeler experiments for a page: the list, one experiment's side-by-side table, its paired
comparisons and the equity curves of every (labeler, bot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.context import Context
from core.experiments import store

TABLE_COLUMNS = (
    "labeler",
    "bot",
    "directional_accuracy",
    "directional_accuracy_ci",
    "directional_accuracy_n",
    "directional_effective_n",
    "baseline_directional_accuracy",
    "baseline_kind",
    "directional_edge",
    "directional_edge_p_value",
    "validation_accuracy",
    "pnl",
    "pnl_ci",
    "trades",
    "hit_rate",
    "max_drawdown",
    "price_error",
    "price_error_baseline",
    "label_set_id",
)
COMPARISON_COLUMNS = (
    "bot",
    "a",
    "b",
    "directional_accuracy_a",
    "directional_accuracy_b",
    "a_only",
    "b_only",
    "pairs",
    "p_value",
    "pnl_a",
    "pnl_b",
    "pnl_difference",
    "pnl_difference_ci",
)


@dataclass(frozen=True)
class ExperimentPage:
    record: store.ExperimentRecord
    table: pd.DataFrame  # one row per (labeler, bot)
    comparisons: pd.DataFrame  # one row per (bot, labeler a, labeler b)
    equity: dict[str, list[list[Any]]]  # "labeler · bot" -> [[iso time, equity]]

    @property
    def forced_past_cutoff(self) -> str | None:
        """The LLM's knowledge cutoff when the experiment was forced past the firewall's refusal."""
        params = self.record.params or {}
        return str(params.get("knowledge_cutoff")) if params.get("forced") else None

    @property
    def heldout_before_cutoff(self) -> tuple[int, int] | None:
        """(judged bars before the LLM's cutoff, judged bars) when an LLM labeler took part."""
        window = (self.record.params or {}).get("window") or {}
        if "heldout_bars_before_cutoff" not in window:
            return None
        return int(window["heldout_bars_before_cutoff"]), int(window["heldout_bars"])


def experiment_list(ctx: Context, symbol: str | None = None, timeframe: str | None = None) -> pd.DataFrame:
    rows = store.list_experiments(ctx.db, symbol=symbol, timeframe=timeframe)
    columns = ["experiment_id", "symbol", "timeframe", "status", "labelers", "bots", "created_at", "wall_s"]
    return pd.DataFrame([{k: r[k] for k in columns} for r in rows], columns=columns)


def experiment_page(ctx: Context, experiment_id: int) -> ExperimentPage:
    record = store.load(ctx.db, experiment_id)
    rows = [
        {
            "labeler": r["labeler"],
            "bot": r["bot"],
            "label_set_id": r["label_set_id"],
            **{k: r["metrics"].get(k) for k in TABLE_COLUMNS if k not in ("labeler", "bot", "label_set_id")},
        }
        for r in record.rows
    ]
    equity = {
        f"{r['labeler']} · {r['bot']}": list(r["metrics"].get("equity_curve") or []) for r in record.rows
    }
    return ExperimentPage(
        record=record,
        table=pd.DataFrame(rows, columns=list(TABLE_COLUMNS)),
        comparisons=pd.DataFrame(
            [{k: c.get(k) for k in COMPARISON_COLUMNS} for c in record.comparisons],
            columns=list(COMPARISON_COLUMNS),
        ),
        equity=equity,
    )
