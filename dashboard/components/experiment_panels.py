"""Experiments page pieces: the labelers x bots table with every number's count and interval, the
paired comparisons (McNemar on the independent points, a bootstrap interval on the P&L gap), and
the costs-after equity curves, one colour per labeler and one dash per bot."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.views.experiments import ExperimentPage
from dashboard import charts
from dashboard import formatting as fmt
from dashboard.theme import SERIES_COLORS, SERIES_DASHES


def _p(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    v = float(value)  # type: ignore[arg-type]
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _ret_ci(ci: object) -> str:
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return ""
    return f" (95 % CI {fmt.signed_pct(ci[0], 1)} to {fmt.signed_pct(ci[1], 1)})"


def results_table(page: ExperimentPage) -> None:
    if page.forced_past_cutoff:
        st.warning(
            f"Forced: the window lies wholly before the LLM's knowledge cutoff ({page.forced_past_cutoff}). "
            "Its labels are possibly remembered, so the LLM rows may measure memory, not skill.",
            icon=":material/history:",
        )
    elif page.heldout_before_cutoff and page.heldout_before_cutoff[0]:
        before, total = page.heldout_before_cutoff
        st.caption(
            f"{before:,} of the {total:,} judged bars lie before the LLM's knowledge cutoff: there its "
            "labels may carry what the model remembers of the future."
        )
    t = page.table
    shown = pd.DataFrame(
        {
            "Labeler": t["labeler"],
            "Bot": t["bot"],
            "Directional accuracy": [
                fmt.proportion(a, n, ci)
                for a, n, ci in zip(
                    t["directional_accuracy"],
                    t["directional_accuracy_n"],
                    t["directional_accuracy_ci"],
                    strict=True,
                )
            ],
            "Independent": t["directional_effective_n"].map(fmt.count),
            "Baseline": t["baseline_directional_accuracy"].map(lambda v: fmt.pct(v, 1)),
            "Edge": t["directional_edge"].map(fmt.pp),
            "p (edge)": t["directional_edge_p_value"].map(_p),
            "P&L after costs": [
                fmt.signed_pct(v, 2) + _ret_ci(ci) for v, ci in zip(t["pnl"], t["pnl_ci"], strict=True)
            ],
            "Trades": t["trades"].map(fmt.count),
            "Hit rate": t["hit_rate"].map(fmt.pct),
            "Max drawdown": t["max_drawdown"].map(fmt.drawdown),
            "Price error": [
                f"{fmt.pct(e, 2)} vs {fmt.pct(b, 2)}"
                for e, b in zip(t["price_error"], t["price_error_baseline"], strict=True)
            ],
            "Label set": t["label_set_id"].map(lambda v: "—" if pd.isna(v) else f"#{int(v)}"),
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="experiment_table",
        column_config={
            "Labeler": st.column_config.TextColumn(pinned=True),
            "Bot": st.column_config.TextColumn(pinned=True),
            "Directional accuracy": st.column_config.TextColumn(
                width="large", help="Walk-forward out-of-sample bars, with the 95 % CI"
            ),
            "Independent": st.column_config.TextColumn(help="Points at least one label horizon apart"),
            "p (edge)": st.column_config.TextColumn(help="One-sided McNemar test against the naive baseline"),
            "Price error": st.column_config.TextColumn(
                help="|predicted − realised close| / close at the horizon, vs the no-change forecast"
            ),
        },
    )


def comparisons_table(page: ExperimentPage) -> None:
    c = page.comparisons
    if c.empty:
        st.caption("No paired comparison was recorded.")
        return
    shown = pd.DataFrame(
        {
            "Bot": c["bot"],
            "Labelers": c["a"] + " vs " + c["b"],
            "Accuracy": [
                f"{fmt.pct(a, 1)} vs {fmt.pct(b, 1)}"
                for a, b in zip(c["directional_accuracy_a"], c["directional_accuracy_b"], strict=True)
            ],
            "Only A right": c["a_only"].map(fmt.count),
            "Only B right": c["b_only"].map(fmt.count),
            "Paired points": c["pairs"].map(fmt.count),
            "p (McNemar)": c["p_value"].map(_p),
            "P&L difference (A − B)": [
                fmt.signed_pct(v, 2) + _ret_ci(ci)
                for v, ci in zip(c["pnl_difference"], c["pnl_difference_ci"], strict=True)
            ],
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch", key="experiment_comparisons")
    st.caption(
        "McNemar counts the independent points where exactly one labeler's bot got the direction right; "
        "the P&L interval is a block bootstrap over the same points."
    )


def equity(page: ExperimentPage) -> None:
    labelers = list(dict.fromkeys(page.table["labeler"]))
    bots = list(dict.fromkeys(page.table["bot"]))
    styles = {
        f"{labeler} · {bot}": (
            SERIES_COLORS[labelers.index(labeler) % len(SERIES_COLORS)],
            SERIES_DASHES[bots.index(bot) % len(SERIES_DASHES)],
        )
        for labeler in labelers
        for bot in bots
    }
    st.plotly_chart(charts.equity_curves(page.equity, height=380, styles=styles), key="experiment_equity")
    st.caption(
        "Each curve follows one bot's BUY/SELL calls on its out-of-sample bars, after commission and "
        "slippage, marked to market; one colour per labeler, one dash per bot. Lines break where the "
        "market was closed or data is missing."
    )
