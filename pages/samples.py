"""Samples: recorded paper and live trades with their predictions and outcomes, paged and filtered."""

from __future__ import annotations

import math

import streamlit as st

from core.errors import BadInput
from core.services.actors import Permission
from core.services.runs import start_replay_and_retrain
from core.views import samples
from core.views.access import can
from core.views.prices import price_format, price_formats
from dashboard import charts, inert
from dashboard import formatting as fmt
from dashboard.components import progress
from dashboard.components import sample_panels as ui
from dashboard.components.empty import empty_state
from dashboard.runtime import runtime
from dashboard.state import current

PAGE_SIZE = 50

rt = runtime()
sel = current()
st.title("Training samples", anchor=False)


def replay_and_retrain() -> None:
    """The offline loop for the selected pair: replay as paper trades, then retrain from the outcomes."""
    with st.container(border=True):
        cols = st.columns([4, 1], vertical_alignment="center")
        cols[0].markdown(
            f"**Replay and retrain {inert.md(sel.symbol)} {sel.timeframe}** · the live model (or the best "
            f"candidate) trades the newest {samples.REPLAY_BARS} bars on paper, never on a bar the model "
            "making the call saw; then every bot with closed samples is retrained from their outcomes."
        )
        may = can(rt.actor, Permission.TRAIN)
        if cols[1].button(
            "Replay and retrain",
            key="replay_retrain",
            icon=":material/replay:",
            width="stretch",
            disabled=not may.allowed,
            help=may.reason,
        ):
            try:
                job = start_replay_and_retrain(
                    rt.runner, rt.actor, samples.replay_request(sel.symbol, sel.timeframe)
                )
            except BadInput as exc:
                st.error(inert.md(str(exc)))
            else:
                progress.watch(sel, job.job_id)
        progress.training_status(rt, sel)


progress.show_pending_toast()
replay_and_retrain()
options = samples.filter_options(rt.ctx)
if not options.symbols:
    empty_state(
        "No training samples recorded yet",
        "Samples are paper trades: the scheduler's paper tick records them for watched pairs, "
        "**Replay and retrain** above replays the selected pair's stored bars, or run "
        f"`python -m core simulate --symbol {sel.symbol} --timeframe {sel.timeframe}`. "
        "A pair needs a trained model first (open it on the Chart).",
    )
    st.stop()

filters = ui.filters(options, sel)
pnl = samples.pnl_values(rt.ctx, filters)
total, _ = samples.page(rt.ctx, filters, page_size=1, page_no=1)
wins = int(pnl["prediction_correct"].fillna(False).sum())
m = st.columns(4)
m[0].metric("Matching samples", fmt.count(total), border=True)
m[1].metric("Closed", fmt.count(len(pnl)), border=True)
m[2].metric(
    "Win rate",
    fmt.pct(wins / len(pnl) if len(pnl) else None),
    border=True,
    help=fmt.proportion(wins / len(pnl) if len(pnl) else None, len(pnl)),
)
m[3].metric("Mean P&L per trade", fmt.signed_pct(pnl["pnl_pct"].mean() if len(pnl) else None, 2), border=True)

selected = ui.SELECTED.get()
ids: list[int] = []
if total == 0:
    empty_state("No sample matches these filters", "Widen the filters (All) or clear the dates.")
else:
    if len(pnl):
        st.plotly_chart(charts.pnl_histogram(pnl["pnl_pct"]), key="pnl_hist")
    pages = max(1, math.ceil(total / PAGE_SIZE))
    top = st.columns([1, 3, 2], vertical_alignment="bottom")
    page_no = int(top[0].number_input("Page", 1, pages, 1, key="samples_page"))
    top[1].caption(f"Page {page_no} of {pages} · {PAGE_SIZE} per page · newest first")
    top[2].download_button(
        "Export CSV",
        samples.export_csv(rt.ctx, filters),
        file_name="candlelab_samples.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
    _, rows = samples.page(rt.ctx, filters, page_size=PAGE_SIZE, page_no=page_no)
    prices = price_formats(rt.ctx, list(zip(rows["symbol"], rows["timeframe"], strict=True)))
    ids = [int(i) for i in rows["id"]]
    ui.table(ui.frame(rows, prices, options.version_labels), ids, ui.table_key(filters, page_no))
    selected = ui.SELECTED.get()

d = samples.detail(rt.ctx, selected) if selected is not None else None
if d is not None:
    label = options.version_labels.get(d["version_id"], f"{d['bot']} (a removed version)")
    ui.detail(d, price_format(rt.ctx, d["symbol"], d["timeframe"]), label, listed=selected in ids)
elif total:
    st.caption("Select a row to see its features, prediction and outcome.")
