"""Access (admins): who may do what. Roles are granted per e-mail or provider subject."""

from __future__ import annotations

import streamlit as st

from core.services.actors import Permission
from dashboard.components import access_panels as ui
from dashboard.runtime import runtime
from dashboard.signin import require

rt = runtime()
require(rt.actor, Permission.MANAGE_ACCESS)
st.title("Access", anchor=False)
st.caption(
    "viewer reads everything · operator also trains, retrains, cancels and imports data · "
    "admin also activates, rolls back and manages access. ADMIN_EMAILS are admins whatever this list says."
)
grants = ui.roles_table(rt)
ui.grant_form(rt)
ui.revoke_form(rt, grants)
