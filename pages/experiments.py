"""Experiments: the labeler experiment side by side (the same bots, window and folds trained on
each labeler's labels), stored so it can be reopened."""

from __future__ import annotations

import streamlit as st

from core.views import experiments
from dashboard import formatting as fmt
from dashboard.components import experiment_panels as ui
from dashboard.components.empty import empty_state
from dashboard.runtime import runtime
from dashboard.state import current

rt = runtime()
sel = current()
st.title("Experiments", anchor=False)
command = (
    f"python -m core experiment --symbol {sel.symbol} --timeframe {sel.timeframe} "
    "--labelers rules,next_price --bots xgb_agent,ensemble_bot"
)

listing = experiments.experiment_list(rt.ctx)
if listing.empty:
    empty_state(
        "No experiment yet",
        "An experiment trains the same bots on the same window and folds once per labeler and compares "
        f"their out-of-sample results. Run one with `{command}`; it appears here when it finishes.",
    )
    st.stop()

titles = {
    int(r.experiment_id): f"#{r.experiment_id} · {r.symbol} {r.timeframe} · {', '.join(r.labelers)} · "
    f"{r.status} · {fmt.when(r.created_at)}"
    for r in listing.itertuples()
}
here = listing[(listing["symbol"] == sel.symbol) & (listing["timeframe"] == sel.timeframe)]
ids = list(titles)
default = ids.index(int(here["experiment_id"].iloc[0])) if not here.empty else 0
chosen = st.selectbox("Experiment", ids, index=default, format_func=titles.get, key="experiment")
page = experiments.experiment_page(rt.ctx, chosen)
record = page.record
st.caption(
    f"{record.symbol} {record.timeframe} · labelers {', '.join(record.labelers)} · bots "
    f"{', '.join(record.bots)} · {fmt.duration(record.wall_s)} · started {fmt.when(record.created_at)} UTC"
)
if record.status == "running":
    st.info("Still running: the rows appear as each labeler finishes.", icon=":material/hourglass_top:")
if record.error:
    st.error("The experiment failed; its message:", icon=":material/error:")
    st.code(record.error, language=None, wrap_lines=True)
if page.table.empty:
    st.stop()

st.subheader("Out-of-sample results", anchor=False)
ui.results_table(page)
st.subheader("Paired comparisons", anchor=False)
ui.comparisons_table(page)
st.subheader("Equity after costs", anchor=False)
ui.equity(page)
st.caption(f"Run another: `{command}`")
