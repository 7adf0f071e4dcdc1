"""Experiments page pieces: the labelers x bots table with every number's count and interval, the
paired comparisons (McNemar on the independent points, a bootstrap interval on the P&L gap), and
the costs-after equity curves, one colour per labeler and one dash per bot."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.views.experiments import ExperimentPage
from dashboard import charts
from dashboard import formatting as fmt
from dashboard.components.row_panel import row_panel
from dashboard.components.versions import accuracy_cell
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


def _ret_span(value: object, ci: object) -> str:
    """ "-5.49 % (-12.9 to +2.1 %)": a return with its 95 % interval, short enough for a cell."""
    shown = fmt.signed_pct(value, 2)  # type: ignore[arg-type]
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return shown
    low = fmt.signed_pct(ci[0], 1).removesuffix(" %")
    return f"{shown} ({low} to {fmt.signed_pct(ci[1], 1)})"


def results_table(page: ExperimentPage) -> None:
    """Labelers x bots with the numbers people scan; a selected row shows the rest in a panel."""
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
            "Accuracy (95 % CI)": [
                accuracy_cell(a, ci)
                for a, ci in zip(t["directional_accuracy"], t["directional_accuracy_ci"], strict=True)
            ],
            "Points": t["directional_accuracy_n"].map(fmt.count),
            "Baseline": t["baseline_directional_accuracy"].map(lambda v: fmt.pct(v, 1)),
            "Edge": t["directional_edge"].map(fmt.pp),
            "p (edge)": t["directional_edge_p_value"].map(_p),
            "P&L after costs (95 % CI)": [
                _ret_span(v, ci) for v, ci in zip(t["pnl"], t["pnl_ci"], strict=True)
            ],
            "Trades": t["trades"].map(fmt.count),
        }
    )
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="experiment_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "Labeler": st.column_config.TextColumn(pinned=True),
            "Bot": st.column_config.TextColumn(pinned=True),
            "Accuracy (95 % CI)": st.column_config.TextColumn(
                help="Walk-forward out-of-sample accuracy of the predicted direction, with its 95 % CI"
            ),
            "Points": st.column_config.TextColumn(help="Out-of-sample bars the accuracy was measured on"),
            "p (edge)": st.column_config.TextColumn(help="One-sided McNemar test against the naive baseline"),
        },
    )
    rows = event.selection.rows if event is not None else []
    if not rows:
        st.caption("Select a row for its hit rate, drawdown, price error and label set.")
        return
    r = t.iloc[rows[0]]
    row_panel(
        f"{r['labeler']} · {r['bot']}",
        {
            "Directional accuracy": fmt.proportion(
                r["directional_accuracy"], r["directional_accuracy_n"], r["directional_accuracy_ci"]
            ),
            "Independent points": fmt.count(r["directional_effective_n"]),
            "P&L after costs": fmt.signed_pct(r["pnl"], 2) + _ret_ci(r["pnl_ci"]),
            "Hit rate": fmt.pct(r["hit_rate"]),
            "Max drawdown": fmt.drawdown(r["max_drawdown"]),
            "Price error": f"{fmt.pct(r['price_error'], 2)} vs {fmt.pct(r['price_error_baseline'], 2)} "
            "(no-change forecast)",
            "Label set": "—" if pd.isna(r["label_set_id"]) else f"set {int(r['label_set_id'])}",
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
