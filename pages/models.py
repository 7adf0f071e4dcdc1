"""Models: every version with honest metrics, side-by-side comparison, activation and rollback."""

from __future__ import annotations

import streamlit as st

from core.views import evidence, models
from dashboard import formatting as fmt
from dashboard.components import versions as ui
from dashboard.components.empty import empty_state
from dashboard.runtime import runtime
from dashboard.state import current

rt = runtime()
sel = current()
st.title(f"Models · {sel.label}", anchor=False)

table = models.version_table(rt.ctx, sel.symbol, sel.timeframe)
if table.empty:
    empty_state(
        f"No model versions for {sel.label} yet",
        "Open the Chart: a pair without a fresh model starts quick training on its own. "
        "For more labels and bots, start a full training on the Training page.",
    )
    st.stop()

active = table[table["active"]]
if active.empty:
    headline = evidence.pair_evidence(rt.ctx, sel.symbol, sel.timeframe).headline
    st.warning(
        f"No version of this pair is active: {headline}. The chart shows no signals until one is activated.",
        icon=":material/block:",
    )
else:
    cols = st.columns(min(4, len(active)))
    for col, (_, row) in zip(cols, active.iterrows(), strict=False):
        col.metric(
            f"{row['label']} active",
            fmt.pct(row["directional_accuracy"]),
            delta=f"{fmt.pp(row['edge'])} vs baseline {fmt.pct(row['baseline'])}"
            if row["edge"] is not None
            else None,
            delta_color="normal",
            help=f"Directional accuracy {fmt.proportion(row['directional_accuracy'], row['n'], row['ci'])}, "
            f"{fmt.count(row['effective_n'])} independent points. Gate: {row['gate_reason'] or 'not judged'}",
            border=True,
        )

st.subheader("Versions", anchor=False)
st.caption("Select a row for its details and to activate it; select two or more to compare them.")
selected = ui.versions_table(table)
if len(selected) == 1:
    ui.version_panel(rt, table, selected[0])

if len(selected) >= 2:
    names = dict(zip(table["version_id"], table["label"], strict=True))
    st.subheader(f"Comparing {', '.join(names[v] for v in selected)}", anchor=False)
    ui.comparison(rt, selected)
ui.activation_controls(rt, table, selected)

st.subheader("Activation history", anchor=False)
ui.timeline(rt, sel)
