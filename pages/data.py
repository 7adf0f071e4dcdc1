"""Data: every stored series, a CSV export uploaded and checked before it is stored, a symbol
added by typing it."""

from __future__ import annotations

import streamlit as st

from dashboard.components import data_panels as ui
from dashboard.runtime import runtime

rt = runtime()
st.title("Data", anchor=False)
ui.just_stored()

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Import a CSV", anchor=False)
    ui.upload(rt)
with right:
    st.subheader("Add a symbol", anchor=False)
    ui.add_symbol(rt)

st.subheader("Stored series", anchor=False)
ui.series_table(rt)
