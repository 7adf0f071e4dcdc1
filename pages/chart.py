"""Chart (home): candles, indicators, the active bots' latest calls with their evidence, paper
trades and labels; why the last automatic training failed, and "no model good enough yet"."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.services import data
from core.services.actors import Permission
from core.views.access import can
from core.views.candles import coarser_view_of, view_intraday
from core.views.evidence import pair_evidence
from core.views.market import range_presets
from dashboard import cached, inert, lwchart, session
from dashboard.components import chart_controls, versions
from dashboard.components.empty import empty_state
from dashboard.components.evidence_panels import demotion_notices, no_model_panel
from dashboard.components.failures import automatic_failure_notice
from dashboard.components.progress import training_status
from dashboard.components.signals import signal_cards
from dashboard.runtime import runtime
from dashboard.state import current, stored_pairs, switch_to

rt = runtime()
sel = current()
db = rt.settings.db_url
summary = cached.summary(db, sel.symbol, sel.timeframe, rt)

if summary.rows == 0:
    finer = coarser_view_of(sel.symbol, sel.timeframe, stored_pairs(db, rt))
    if finer is not None:  # a link to a timeframe this symbol is not stored at: resample a finer one
        session.PENDING_VIEW.set(sel.timeframe)
        switch_to(sel.symbol, finer)
        st.rerun()
    st.title(sel.label, anchor=False)
    empty_state(
        f"No {sel.timeframe} bars stored for {sel.symbol}",
        f"Fetch them from the configured provider ({rt.settings.market_data_provider}), upload a CSV export "
        f"on the **Data** page, or import one with "
        f"`python -m core data import FILE --symbol {sel.symbol} --timeframe {sel.timeframe}`.",
    )
    may_fetch = can(rt.actor, Permission.IMPORT)
    if st.button(
        "Fetch bars",
        icon=":material/download:",
        type="primary",
        disabled=not may_fetch.allowed,
        help=may_fetch.reason,
    ):
        try:
            with st.spinner(f"Fetching {sel.label}…"):
                outcome = data.fetch(rt.ctx, rt.actor, sel.symbol, sel.timeframe)
            st.cache_data.clear()
            st.toast(f"Stored {outcome.summary.rows:,} bars of {sel.label}")
            st.rerun()
        except CandleLabError as exc:
            st.error(inert.error(exc))
    st.stop()

view_tf = chart_controls.header(rt, sel, summary)
if view_tf != sel.timeframe:
    st.query_params["tf"] = view_tf  # the link names the timeframe on screen
chart_controls.trigger_once(rt, sel, summary)
training_status(rt, sel)
failed = automatic_failure_notice(rt, sel)
versions.pending_dialogs(rt)

series = cached.candle_series(db, sel.symbol, sel.timeframe, view_tf, summary.last, summary.rows, rt)
first_seen = pd.Timestamp(int(series.candles["t"].iat[0]), unit="s", tz="UTC").to_pydatetime()
last_seen = summary.last or first_seen
prices = cached.price_format(db, sel.symbol, sel.timeframe, summary.rows, summary.last, rt)
active_ids = cached.active_signature(db, sel.symbol, sel.timeframe, rt)
signals, note = cached.signals(db, sel.symbol, sel.timeframe, active_ids, summary.last, rt)
evidence = pair_evidence(rt.ctx, sel.symbol, sel.timeframe)  # not cached: a few indexed reads
trades = cached.paper_trades(db, sel.symbol, sel.timeframe, first_seen, rt)
set_id = cached.latest_label_set_id(db, sel.symbol, sel.timeframe, rt)
labels = cached.labels_in_window(db, set_id, first_seen, last_seen, rt) if set_id else None
names = cached.version_names(db, sel.symbol, sel.timeframe, active_ids, rt)
presets = range_presets(summary)
pair = lwchart.pair_of(series)
opening, pinned = chart_controls.opening_view(pair, presets, len(series.candles))
held = chart_controls.held_candles(pair, series, opening, presets)
lwchart.candle_chart(
    held,
    title=f"{sel.symbol} · {view_tf}",
    intraday=view_intraday(view_tf),
    presets=presets,
    view=opening,
    pinned=pinned,
    marks=lwchart.overlays(held, signals, trades, labels, names),
    key=chart_controls.CHART_KEY,
    total=len(series.candles),
    on_view=chart_controls.remember_view,
    on_history=chart_controls.ask_history,
)

st.subheader("Active bots' latest calls", anchor=False)
demotion_notices(evidence)
if signals:
    signal_cards(signals, {e.bot: e for e in evidence.active}, prices)
elif not evidence.has_live_model and evidence.best_candidate is not None:
    no_model_panel(sel, evidence, rt.actor)
else:
    empty_state(
        note or "No signals yet",
        "**Retrain now** starts quick training on demand; the new model's call appears here when it "
        "finishes and beats its baseline."
        if failed
        else "Quick training starts on its own for a stale pair; **Retrain now** starts it on demand. "
        "The new model's call appears here when it finishes and beats its baseline.",
    )
if note and signals:
    st.caption(inert.md(note))
if trades is not None and not trades.empty:
    closed = trades[trades["status"] == "closed"]
    won = int((closed["pnl_pct"] > 0).sum())
    st.caption(
        f"Paper trades on the chart: {len(trades):,} ({len(closed):,} closed, {won:,} won, "
        f"mean P&L {closed['pnl_pct'].mean() * 100 if len(closed) else 0:+.2f} %). "
        "Details on the Samples page."
    )
