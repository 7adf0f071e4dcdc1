"""Labels: a label set on the candle chart (the Chart page's component, each label a marker with
its details on hover) and in a table, one label in full, and the set's quality."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.views import labels as views
from core.views.prices import price_format
from dashboard import cached, inert, session
from dashboard.components import label_panels as ui
from dashboard.components.empty import empty_state
from dashboard.runtime import Runtime, runtime
from dashboard.state import current


@st.cache_data(ttl=600, max_entries=16, show_spinner="Comparing with the rule and hindsight labelers…")
def _agreement(db_url: str, label_set_id: int, labeled: int, _rt: Runtime) -> pd.DataFrame:
    return views.agreement(_rt.ctx, label_set_id)


rt = runtime()
sel = current()
db = rt.settings.db_url
head = st.columns([5, 1], vertical_alignment="bottom")
head[0].title(f"Labels · {sel.label}", anchor=False)
with head[1]:
    ui.new_label_set(rt, sel)

sets = views.label_sets(rt.ctx, sel.symbol, sel.timeframe)
ui.running_sets(rt, sel, sets)
ui.analyst_panel(rt)
if not sets:
    empty_state(
        f"No label sets for {sel.label} yet",
        "Create one with **New label set** (the rule-based analyst works offline), or open the Chart: "
        "quick training labels the pair before it trains.",
    )
    st.stop()

known = session.LABELING_STARTED.get()
fresh = [s for s in sets if known is not None and s.id not in known]
if fresh:  # the set a labeling started here has appeared: show it (not the one picked before)
    st.session_state["label_set"] = fresh[0]
    session.LABELING_STARTED.pop()
chosen = st.selectbox("Label set", sets, format_func=lambda s: f"{s.title} · {s.status}", key="label_set")
if chosen.message:
    st.caption(inert.md(chosen.message))
ui.quality(rt, chosen)

table = views.labels_table(rt.ctx, chosen.id)
prices = price_format(rt.ctx, sel.symbol, sel.timeframe)
summary = cached.summary(db, sel.symbol, sel.timeframe, rt)
series = cached.candle_series(db, sel.symbol, sel.timeframe, sel.timeframe, summary.last, summary.rows, rt)
# Lazy tabs: only the open one runs, so the page opens without Plotly (the calibration figure) or
# the comparison with the other labelers until the analyst asks for them.
on_chart, on_calibration, on_agreement = st.tabs(
    ["Chart", "Calibration", "Agreement"], key="labels_view", on_change="rerun"
)
with on_chart:
    if on_chart.open:
        accepted = table[table["status"] == "accepted"]
        if accepted.empty:
            empty_state(
                "This set has no accepted labels",
                "Every reply was rejected or the run stopped early; "
                "its table below shows why. Try another labeler or more sample points.",
            )
        else:
            ui.set_chart(sel, series, chosen, accepted)
with on_calibration:
    if on_calibration.open:
        ui.calibration(chosen)
with on_agreement:
    if on_agreement.open:
        ui.agreement(_agreement(rt.settings.db_url, chosen.id, chosen.labeled, rt))

selected = ui.label_table(table, prices)
if selected is not None:
    ui.label_detail(rt, sel, selected, prices, series)
else:
    st.caption(
        "Select a label to see the exact context sent, the raw reply, the reasoning "
        "and what the price did next."
    )
