"""Chart (home): candles, indicators, the active bots' latest calls, paper trades and labels."""

from __future__ import annotations

import streamlit as st

from core.errors import CandleLabError
from core.services import data
from core.services.actors import Permission
from core.timeframes import parse_timeframe
from core.views.access import can
from dashboard import cached, charts, inert
from dashboard.components import chart_controls
from dashboard.components.empty import empty_state
from dashboard.components.progress import training_status
from dashboard.components.signals import signal_cards
from dashboard.runtime import runtime
from dashboard.state import current

rt = runtime()
sel = current()
db = rt.settings.db_url
summary = cached.summary(db, sel.symbol, sel.timeframe, rt)

if summary.rows == 0:
    st.title(sel.label, anchor=False)
    empty_state(
        f"No {sel.timeframe} bars stored for {sel.symbol}",
        f"Fetch them from the configured provider ({rt.settings.market_data_provider}), or import a CSV with "
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

chart_controls.header(rt, sel, summary)
chart_controls.trigger_once(rt, sel, summary)
training_status(rt, sel)
options = chart_controls.controls(summary.rows)

window = cached.chart_window(db, sel.symbol, sel.timeframe, options.candles, summary.last, summary.rows, rt)
start, end = window.bars.index[0].to_pydatetime(), window.bars.index[-1].to_pydatetime()
versions = cached.active_signature(db, sel.symbol, sel.timeframe, rt)
signals, note = cached.signals(db, sel.symbol, sel.timeframe, versions, summary.last, rt)
trades = (
    cached.paper_trades(db, sel.symbol, sel.timeframe, start, rt)
    if "Paper trades" in options.overlays
    else None
)
labels = None
if "Labels" in options.overlays:
    set_id = cached.latest_label_set_id(db, sel.symbol, sel.timeframe, rt)
    labels = cached.labels_in_window(db, set_id, start, end, rt) if set_id else None

figure = charts.price_chart(
    window,
    intraday=parse_timeframe(sel.timeframe).intraday,
    indicators=options.indicators,
    signals=signals if "Signals" in options.overlays else (),
    trades=trades,
    labels=labels,
)
st.plotly_chart(figure, key="price_chart", config={"displaylogo": False, "scrollZoom": True})
if window.aggregated:
    st.caption(
        f"Whole history: each candle merges {window.bars_per_candle} {sel.timeframe} bars "
        f"({len(window.bars):,} candles for {window.total_rows:,} bars)."
    )

st.subheader("Active bots' latest calls", anchor=False)
if signals:
    signal_cards(signals)
else:
    empty_state(
        note or "No signals yet",
        "Quick training starts on its own for a stale pair; "
        "**Retrain now** starts it on demand. The new model's call appears here when it finishes.",
    )
if note and signals:
    st.caption(inert.md(note))
if trades is not None and not trades.empty:
    closed = trades[trades["status"] == "closed"]
    won = int((closed["pnl_pct"] > 0).sum())
    st.caption(
        f"Paper trades in view: {len(trades):,} ({len(closed):,} closed, {won:,} won, "
        f"mean P&L {closed['pnl_pct'].mean() * 100 if len(closed) else 0:+.2f} %). "
        "Details on the Samples page."
    )
