"""Streamlit entry point: `streamlit run dashboard/app.py`."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.context import Context
from core.data import service, store


@st.cache_resource
def _context() -> Context:
    ctx = Context.create()
    service.bootstrap_demo(ctx)
    return ctx


st.set_page_config(page_title="CandleLab", layout="wide")
ctx = _context()
with ctx.db.read() as session:
    series = store.list_series(session)
labels = [f"{s.symbol} {s.timeframe}" for s in series]
choice = st.sidebar.selectbox("Series", labels)
symbol, timeframe = choice.split(" ")
with ctx.db.read() as session:
    bars = store.load_bars(session, symbol, timeframe, limit=2000)
st.title(f"{symbol} · {timeframe}")
fig = go.Figure(
    go.Candlestick(x=bars.index, open=bars["open"], high=bars["high"], low=bars["low"], close=bars["close"])
)
fig.update_layout(height=600, xaxis_rangeslider_visible=False, margin={"l": 10, "r": 10, "t": 10, "b": 10})
st.plotly_chart(fig, width="stretch")
