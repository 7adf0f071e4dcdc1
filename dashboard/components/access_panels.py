"""Admin pieces: the audit log with its filters and CSV export, and role grants."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.services import access
from core.views import access as views
from core.views.access import ACTIONS, OUTCOMES, ROLES, AuditFilter
from core.views.models import name_versions
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.runtime import Runtime

ALL = "All"


def audit_filters(rt: Runtime) -> AuditFilter:
    with st.container(border=True):
        c = st.columns([3, 2, 2, 3])
        who = c[0].selectbox("Actor", [ALL, *views.audit_actors(rt.ctx, rt.actor)], key="audit_actor")
        action = c[1].selectbox("Action", [ALL, *ACTIONS], key="audit_action")
        outcome = c[2].selectbox("Outcome", [ALL, *OUTCOMES], key="audit_outcome")
        dates = c[3].date_input("Between", value=(), key="audit_dates", help="Leave empty for all time (UTC)")
    since = until = None
    if isinstance(dates, tuple | list) and len(dates) == 2:
        since = datetime.combine(dates[0], time.min, tzinfo=UTC)
        until = datetime.combine(dates[1], time.max, tzinfo=UTC)
    return AuditFilter(
        actor=None if who == ALL else who,
        action=None if action == ALL else action,
        outcome=None if outcome == ALL else outcome,
        since=since,
        until=until,
    )


def audit_table(rt: Runtime, flt: AuditFilter, limit: int = 500) -> None:
    total = views.audit_total(rt.ctx, rt.actor, flt)
    head = st.columns([4, 1], vertical_alignment="bottom")
    head[0].caption(
        f"{fmt.count(total)} matching entries, newest first (showing up to {limit}) · times in UTC"
    )
    # The file is built when it is downloaded, after this run: the session's actor is taken now.
    ctx, actor = rt.ctx, rt.actor
    head[1].download_button(
        "Export CSV",
        lambda: views.audit_csv(ctx, actor, flt),
        file_name="candlelab_audit.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="audit_export",
    )
    rows = views.audit_frame(rt.ctx, rt.actor, flt, limit=limit)
    if rows.empty:
        st.caption("No entries match these filters.")
        return
    show = pd.DataFrame(
        {
            "When (UTC)": rows["created_at"].map(fmt.when),
            "Actor": rows["actor"],
            "Via": rows["actor_kind"],
            "Action": rows["action"],
            "Target": name_versions(rt.ctx, list(rows["target"].fillna(""))),
            "Outcome": rows["outcome"],
            "Reason": name_versions(rt.ctx, list(rows["reason"].fillna(""))),
        }
    )
    st.dataframe(show, hide_index=True, width="stretch", key="audit_table")


def roles_table(rt: Runtime) -> pd.DataFrame:
    grants = views.roles_frame(rt.ctx, rt.actor)
    settings = rt.settings
    default = (
        "nobody is admitted until granted a role"
        if settings.default_role == "none"
        else settings.default_role
    )
    st.caption(f"Signed-in users without a role below get: **{default}** (DEFAULT_ROLE).")
    if grants.empty:
        st.caption("No roles granted yet.")
        return grants
    show = grants.assign(granted_at=grants["granted_at"].map(lambda v: "—" if pd.isna(v) else fmt.when(v)))
    show.columns = ["User (e-mail or subject)", "Role", "Granted by", "Granted (UTC)", "Source"]
    st.dataframe(show, hide_index=True, width="stretch", key="roles_table")
    return grants


def grant_form(rt: Runtime) -> None:
    with st.form("grant_role", border=True):
        st.markdown("**Grant a role**")
        c = st.columns([4, 2, 1], vertical_alignment="bottom")
        who = c[0].text_input("E-mail or provider subject", key="grant_principal")
        role = c[1].selectbox("Role", ROLES, key="grant_role_choice")
        if c[2].form_submit_button("Grant", type="primary"):
            try:
                grant = access.grant_role(rt.ctx, rt.actor, who, role)
            except CandleLabError as exc:
                st.warning(inert.error(exc))
            else:  # the table above was drawn before the grant: draw it again, then say so
                session.PENDING_TOAST.set(
                    (f"{inert.md(grant.principal)} is now {grant.role}", ":material/check:")
                )
                st.rerun()


def revoke_form(rt: Runtime, grants: pd.DataFrame) -> None:
    stored = [] if grants.empty else list(grants.loc[grants["source"] == "database", "principal"])
    if not stored:
        return
    c = st.columns([4, 1], vertical_alignment="bottom")
    who = c[0].selectbox("Revoke the role of", stored, key="revoke_principal")
    if c[1].button("Revoke", key="revoke_role", icon=":material/person_remove:"):
        try:
            access.revoke_role(rt.ctx, rt.actor, who)
        except CandleLabError as exc:
            st.warning(inert.error(exc))
        else:
            st.toast(f"{inert.md(who)}: role revoked (DEFAULT_ROLE applies)")
            st.rerun()
