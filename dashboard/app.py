"""The Streamlit script: `streamlit run dashboard/server.py` serves it (with the app's page HTML).

Decides who this browser session is first (the local admin on 127.0.0.1, or a user signed in
through OpenID Connect; an open bind without sign-in serves only a refusal), builds the shared
runtime once per process, draws the pair pickers every page shares, and hands over to the page
the navigation selected. Pages live in `pages/`, one thin file each; admin pages are listed
only for admins (and refuse anyone else who opens their URL).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.services.actors import Actor, Permission
from core.views.access import can
from dashboard import session, signin
from dashboard.components.progress import show_pending_toast
from dashboard.runtime import runtime
from dashboard.state import pair_picker

PAGES = Path(__file__).resolve().parent.parent / "pages"


def _pages(actor: Actor) -> dict[str, list[st.Page]]:
    pages = {
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
    if can(actor, Permission.MANAGE_ACCESS).allowed:
        pages["Admin"] = [
            st.Page(PAGES / "audit.py", title="Audit", icon=":material/policy:"),
            st.Page(PAGES / "access.py", title="Access", icon=":material/group:"),
        ]
    return pages


# An emoji favicon is drawn by the browser itself; a Material one is fetched from fonts.gstatic.com,
# which an offline desk cannot reach (the icons inside the app come from Streamlit's bundled font).
st.set_page_config(page_title="CandleLab", page_icon="📈", layout="wide")
auth = signin.auth_config()
signin.guard_bind(auth)
rt = runtime()
actor = signin.current_actor(rt, auth)
signin.remember(actor)
navigation = st.navigation(_pages(actor))
session.SELECTION.set(pair_picker(rt))
with st.sidebar:
    summary = rt.settings.public_summary()
    analyst = f"LLM analyst: {summary['llm_model']}" if summary["llm_configured"] else "Rule-based analyst"
    st.caption(f"{analyst} · data: {summary['market_data_provider']} · times in UTC")
    signin.identity(actor, auth)
show_pending_toast()
navigation.run()
