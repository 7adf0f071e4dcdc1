"""Audit (admins): every state-changing attempt, who made it and how it ended; filters and CSV."""

from __future__ import annotations

import streamlit as st

from core.services.actors import Permission
from dashboard.components import access_panels as ui
from dashboard.runtime import runtime
from dashboard.signin import require

rt = runtime()
require(rt.actor, Permission.MANAGE_ACCESS)
st.title("Audit log", anchor=False)
st.caption(
    "Append-only: activations, rollbacks, training, retrains, labeling, cancels, imports and role "
    "changes from the dashboard, the command line (as the OS user) and the service API (as the token)."
)
ui.audit_table(rt, ui.audit_filters(rt))
