"""Streamlit entry point: `streamlit run dashboard/app.py`.

Builds the shared runtime once per process, draws the pair pickers every page shares, and hands
over to the page the navigation selected. Pages live in `pages/`, one thin file each.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import session
from dashboard.components.progress import show_pending_toast
from dashboard.runtime import runtime
from dashboard.state import pair_picker

PAGES = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="CandleLab", page_icon=":material/candlestick_chart:", layout="wide")

navigation = st.navigation(
    {
        "Markets": [
            st.Page(
                PAGES / "chart.py",
                title="Chart",
                icon=":material/candlestick_chart:",
                default=True,
            ),
            st.Page(PAGES / "data.py", title="Data", icon=":material/database:"),
        ],
        "Research": [
            st.Page(PAGES / "labels.py", title="Labels", icon=":material/label:"),
            st.Page(PAGES / "models.py", title="Models", icon=":material/model_training:"),
            st.Page(PAGES / "experiments.py", title="Experiments", icon=":material/science:"),
            st.Page(PAGES / "samples.py", title="Samples", icon=":material/receipt_long:"),
        ],
        "Operations": [
            st.Page(PAGES / "training.py", title="Training", icon=":material/bolt:"),
        ],
    }
)

rt = runtime()
session.SELECTION.set(pair_picker(rt))
with st.sidebar:
    summary = rt.settings.public_summary()
    analyst = f"LLM analyst: {summary['llm_model']}" if summary["llm_configured"] else "Rule-based analyst"
    st.caption(f"{analyst} · data: {summary['market_data_provider']} · times in UTC")
show_pending_toast()
navigation.run()
