"""Model-version pieces for the Models page: the versions table, the comparison tabs, the
activation dialog and the activation timeline with rollback."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.requests import ActivateRequest, RollbackRequest
from core.services import models as model_actions
from core.services.actors import Permission
from core.views import models
from core.views.access import can
from dashboard import charts, inert, session
from dashboard import formatting as fmt
from dashboard.runtime import Runtime
from dashboard.state import Selection


def _display_metric(kind: str, value: object, n: object, ci: object) -> str:
    if kind == "pct":
        return fmt.proportion(value, n, ci)  # type: ignore[arg-type]
    if kind == "pp":
        return fmt.pp(value)  # type: ignore[arg-type]
    if kind == "ret":
        return fmt.signed_pct(value, 2)  # type: ignore[arg-type]
    if kind == "int":
        return fmt.count(value)  # type: ignore[arg-type]
    return fmt.num(value, 3)  # type: ignore[arg-type]


def versions_table(table: pd.DataFrame) -> list[int]:
    """The versions with their key numbers; returns the ids of the selected rows."""
    show = pd.DataFrame(
        {
            "Version": table["version_id"].map(lambda v: f"v{v}"),
            "Bot": table["bot"],
            "Active": table["active"],
            "Created (UTC)": table["created_at"].map(fmt.when),
            "Type": table["type"],
            "Directional accuracy": [
                fmt.proportion(a, n, ci)
                for a, n, ci in zip(table["directional_accuracy"], table["n"], table["ci"], strict=True)
            ],
            "Baseline": table["baseline"].map(fmt.pct),
            "Edge": table["edge"].map(fmt.pp),
            "Edge vs active": table["edge_vs_active"].map(fmt.pp),
            "P&L": table["pnl"].map(lambda v: fmt.signed_pct(v, 2)),
            "P&L vs active": table["pnl_vs_active"].map(lambda v: fmt.signed_pct(v, 2)),
            "Trades": table["trades"].map(fmt.count),
            "Live accuracy": table["live_accuracy"].map(fmt.pct),
            "Status": table["status"],
        }
    )
    event = st.dataframe(
        show,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="versions_table",
        column_config={
            "Active": st.column_config.CheckboxColumn(width="small"),
            "Directional accuracy": st.column_config.TextColumn(
                width="large",
                help="Held-out walk-forward accuracy of the predicted direction, with count and 95 % CI",
            ),
        },
    )
    rows = event.selection.rows if event is not None else []
    return [int(table["version_id"].iloc[i]) for i in rows]


def comparison(rt: Runtime, version_ids: list[int]) -> None:
    cmp = models.compare(rt.ctx, version_ids)
    tabs = st.tabs(["Metrics", "Parameters & lineage", "Equity curves", "Calibration", "Feature importance"])
    with tabs[0]:
        diff_only = st.toggle("Only rows that differ", key="cmp_diff_only")
        shown = models.differing_rows(cmp.metrics) if diff_only else cmp.metrics
        text = pd.DataFrame(
            {
                label: [
                    _display_metric(
                        cmp.kinds[name],
                        shown.at[name, label],
                        cmp.counts.at[name, label],
                        cmp.intervals.at[name, label],
                    )
                    for name in shown.index
                ]
                for label in cmp.labels
            },
            index=shown.index,
        )
        st.dataframe(text, width="stretch")
        st.caption(
            "Held-out = the newest labeled points, never trained on. The baseline is the better of "
            "the majority direction and momentum on the same points."
        )
    with tabs[1]:
        diff_params = st.toggle("Only rows that differ", key="cmp_diff_params", value=True)
        left, right = st.columns(2)
        params = models.differing_rows(cmp.params) if diff_params else cmp.params
        lineage = models.differing_rows(cmp.lineage) if diff_params else cmp.lineage
        left.markdown("**Parameters**")
        left.dataframe(params.astype(str), width="stretch")
        right.markdown("**Lineage**")
        right.dataframe(lineage.astype(str), width="stretch")
    with tabs[2]:
        st.plotly_chart(charts.equity_curves(cmp.equity), key="cmp_equity")
        st.caption(
            "Following each version's BUY/SELL calls on its walk-forward out-of-sample bars, "
            "one unit per trade, after costs."
        )
    with tabs[3]:
        st.plotly_chart(charts.calibration_chart(cmp.calibration), key="cmp_calibration")
        st.caption("Hit rate of BUY/SELL calls per stated-confidence bucket, with 95 % intervals.")
    with tabs[4]:
        st.plotly_chart(charts.importance_chart(cmp.importance), key="cmp_importance")


def activation_controls(rt: Runtime, table: pd.DataFrame, selected: list[int]) -> None:
    """Activate one of the selected versions, after a confirmation dialog.

    The dialog stays open while `ACTIVATING` is set, so a full rerun (not only the dialog's own
    fragment rerun) still shows it until the analyst confirms, cancels or dismisses it.
    """
    pending = session.ACTIVATING.get()
    if pending is not None:
        vid, current_id = pending
        confirm_activation(rt, vid, current_id)
    chosen = table[table["version_id"].isin(selected)]
    candidates = chosen[~chosen["active"] & (chosen["status"] == "ready")]
    if chosen.empty:
        return
    if candidates.empty:
        st.caption(
            "The selected versions are already active." if chosen["active"].all() else "Nothing to activate."
        )
        return
    row = st.container(horizontal=True, vertical_alignment="bottom")
    ids = [int(v) for v in candidates["version_id"]]
    vid = (
        ids[0] if len(ids) == 1 else row.selectbox("Version to activate", ids, format_func=lambda v: f"v{v}")
    )
    bot = str(candidates[candidates["version_id"] == vid]["bot"].iloc[0])
    may = can(rt.actor, Permission.ACTIVATE)
    if row.button(
        f"Activate v{vid} ({bot})",
        type="primary",
        icon=":material/rocket_launch:",
        key="activate",
        disabled=not may.allowed,
        help=may.reason,
    ):
        active = table[(table["bot"] == bot) & table["active"]]
        session.ACTIVATING.set((vid, int(active["version_id"].iloc[0]) if not active.empty else None))
        st.rerun()


def _dismissed() -> None:
    session.ACTIVATING.pop()


@st.dialog("Activate this version?", on_dismiss=_dismissed)
def confirm_activation(rt: Runtime, version_id: int, current: int | None) -> None:
    cmp = models.compare(rt.ctx, [version_id] + ([current] if current else []))
    if current:
        st.markdown(f"**v{version_id}** replaces **v{current}** as the active model of its bot.")
    else:
        st.markdown(f"**v{version_id}** becomes the active model of its bot (none is active now).")
    for label in cmp.labels:
        acc = cmp.metrics.at["Directional accuracy (out of sample)", label]
        n = cmp.counts.at["Directional accuracy (out of sample)", label]
        ci = cmp.intervals.at["Directional accuracy (out of sample)", label]
        base = cmp.metrics.at["Naive baseline", label]
        st.markdown(f"- {label}: {fmt.proportion(acc, n, ci)}, baseline {fmt.pct(base)}")
    cols = st.columns(2)
    if cols[0].button("Activate", type="primary", key="confirm_activate", width="stretch"):
        session.ACTIVATING.pop()
        try:
            request = ActivateRequest(version_id=version_id, reason="activated from the dashboard")
            result = model_actions.activate(rt.ctx, rt.actor, request)
        except CandleLabError as exc:
            session.PENDING_TOAST.set((inert.error(exc), ":material/error:"))
        else:
            was = result.previous_active_id or "—"
            session.PENDING_TOAST.set(
                (f"v{result.version_id} is active (was v{was})", ":material/check_circle:")
            )
        st.rerun()
    if cols[1].button("Cancel", key="cancel_activate", width="stretch"):
        session.ACTIVATING.pop()
        st.rerun()


def timeline(rt: Runtime, sel: Selection) -> None:
    history = models.timeline(rt.ctx, sel.symbol, sel.timeframe)
    targets = models.rollback_targets(rt.ctx, sel.symbol, sel.timeframe)
    if targets:
        row = st.container(horizontal=True)
        may = can(rt.actor, Permission.ACTIVATE)
        for bot, (current, previous) in targets.items():
            if row.button(
                f"Roll back {bot}: v{current} → v{previous}",
                key=f"rollback-{bot}",
                icon=":material/undo:",
                disabled=not may.allowed,
                help=may.reason,
            ):
                try:
                    request = RollbackRequest(symbol=sel.symbol, timeframe=sel.timeframe, bot=bot)
                    result = model_actions.rollback(rt.ctx, rt.actor, request)
                    message = f"{bot}: rolled back to v{result.version_id}"
                    session.PENDING_TOAST.set((message, ":material/undo:"))
                except CandleLabError as exc:
                    session.PENDING_TOAST.set((inert.error(exc), ":material/error:"))
                st.rerun()
    if history.empty:
        st.caption("No activations yet.")
        return
    show = pd.DataFrame(
        {
            "When (UTC)": history["created_at"].map(fmt.when),
            "Bot": history["bot"],
            "Activated": history["version_id"].map(lambda v: f"v{v}"),
            "Replaced": history["previous_version_id"].map(lambda v: "—" if pd.isna(v) else f"v{int(v)}"),
            "By": history["actor"],
            "Why": history["reason"].fillna(""),
        }
    )
    st.dataframe(show, hide_index=True, width="stretch", key="activation_history")
