"""Samples: recorded paper and live trades with their predictions and outcomes, paged and filtered."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time

import pandas as pd
import streamlit as st

from core.views import samples
from core.views.samples import OUTCOMES, SampleFilter
from dashboard import charts
from dashboard import formatting as fmt
from dashboard.components.empty import empty_state
from dashboard.runtime import runtime
from dashboard.state import current

rt = runtime()
sel = current()
st.title("Training samples", anchor=False)

options = samples.filter_options(rt.ctx)
if not options.symbols:
    empty_state(
        "No training samples recorded yet",
        "Samples are paper trades of the active models: the scheduler's paper tick records them for watched "
        "pairs, or replay history with "
        f"`python -m core simulate --symbol {sel.symbol} --timeframe {sel.timeframe}`. "
        "A pair needs an active model first (see Models).",
    )
    st.stop()

with st.container(border=True):
    c = st.columns([2, 2, 2, 2, 3])
    symbol = c[0].selectbox(
        "Symbol",
        ["All", *options.symbols],
        index=1 + options.symbols.index(sel.symbol) if sel.symbol in options.symbols else 0,
    )
    bot = c[1].selectbox("Bot", ["All", *options.bots], key="samples_bot")
    version = c[2].selectbox(
        "Version", ["All", *options.version_ids], format_func=lambda v: v if v == "All" else f"v{v}"
    )
    outcome = c[3].selectbox("Outcome", ["All", *OUTCOMES], key="samples_outcome")
    dates = c[4].date_input("Predicted between", value=(), help="Leave empty for all dates (UTC)")

since = until = None
if isinstance(dates, tuple | list) and len(dates) == 2:
    since = datetime.combine(dates[0], time.min, tzinfo=UTC)
    until = datetime.combine(dates[1], time.max, tzinfo=UTC)
filters = SampleFilter(
    symbol=None if symbol == "All" else symbol,
    bot=None if bot == "All" else bot,
    version_id=None if version == "All" else int(version),
    outcome=None if outcome == "All" else outcome,
    since=since,
    until=until,
)

pnl = samples.pnl_values(rt.ctx, filters)
page_size = 50
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

if total == 0:
    empty_state("No sample matches these filters", "Widen the filters (All) or clear the dates.")
    st.stop()

if len(pnl):
    st.plotly_chart(charts.pnl_histogram(pnl["pnl_pct"]), key="pnl_hist")

pages = max(1, math.ceil(total / page_size))
top = st.columns([1, 3, 2], vertical_alignment="bottom")
page_no = top[0].number_input("Page", 1, pages, 1, key="samples_page")
top[1].caption(f"Page {page_no} of {pages} · {page_size} per page · newest first")
top[2].download_button(
    "Export CSV",
    samples.export_csv(rt.ctx, filters),
    file_name="candlelab_samples.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
_, rows = samples.page(rt.ctx, filters, page_size=page_size, page_no=int(page_no))
show = rows.assign(
    predicted_at=rows["predicted_at"].map(fmt.when),
    confidence=rows["confidence"].map(fmt.pct),
    pnl_pct=rows["pnl_pct"].map(lambda v: fmt.signed_pct(v, 2)),
    version_id=rows["version_id"].map(lambda v: "—" if pd.isna(v) else f"v{int(v)}"),
)[
    [
        "id",
        "predicted_at",
        "symbol",
        "timeframe",
        "bot",
        "version_id",
        "source",
        "recommendation",
        "confidence",
        "entry_price",
        "target",
        "stop_loss",
        "status",
        "exit_reason",
        "exit_price",
        "pnl_pct",
    ]
]
event = st.dataframe(
    show, hide_index=True, on_select="rerun", selection_mode="single-row", key="samples_table"
)

chosen = event.selection.rows if event is not None else []
if chosen:
    detail = samples.detail(rt.ctx, int(rows["id"].iloc[chosen[0]]))
    if detail:
        st.subheader(f"Sample #{detail['id']} · {detail['bot']} v{detail['version_id']}", anchor=False)
        a, b, c2 = st.columns(3)
        a.markdown(
            f"**Prediction**  \n{detail['recommendation']} at {fmt.price(detail['entry_price'])}, "
            f"confidence {fmt.pct(detail['confidence'])}  \ntarget {fmt.price(detail['target'])} · "
            f"stop {fmt.price(detail['stop_loss'])}  \n"
            f"expected {fmt.signed_pct(detail['predicted_return'], 2)}"
        )
        b.markdown(
            f"**Outcome**  \n{detail['status']}"
            + (
                f": {detail['exit_reason']} at {fmt.price(detail['exit_price'])}, P&L "
                f"{fmt.signed_pct(detail['pnl_pct'], 2)}"
                if detail["status"] == "closed"
                else ""
            )
        )
        c2.markdown(
            f"**When**  \npredicted {fmt.when(detail['predicted_at'])} UTC  \n"
            f"closed {fmt.when(detail['exit_time'])}"
        )
        features = pd.DataFrame(
            {"feature": list(detail["features"]), "value": list(detail["features"].values())}
        )
        st.dataframe(features, hide_index=True, key="sample_features")
else:
    st.caption("Select a row to see its features, prediction and outcome.")
