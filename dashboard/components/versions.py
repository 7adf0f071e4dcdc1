"""Model-version pieces for the Models page: the versions table, the comparison tabs, the
activation dialog and the activation timeline with rollback."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.requests import ActivateRequest, RollbackRequest
from core.services import models as model_actions
from core.services.actors import Permission
from core.views import models
from core.views.access import can
from core.views.evidence import activation_warning
from dashboard import charts, inert, session
from dashboard import formatting as fmt
from dashboard.components.row_panel import row_panel
from dashboard.runtime import Runtime
from dashboard.state import Selection

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _display_metric(kind: str, value: object, n: object, ci: object) -> str:
    if kind == "pct":
        return fmt.proportion(value, n, ci)  # type: ignore[arg-type]
    if kind == "pp":
        return fmt.pp(value)  # type: ignore[arg-type]
    if kind == "ret":
        return fmt.signed_pct(value, 2)  # type: ignore[arg-type]
    if kind == "int":
        return fmt.count(value)  # type: ignore[arg-type]
    if kind == "err":
        return fmt.pct(value, 2)  # type: ignore[arg-type]
    return fmt.num(value, 3)  # type: ignore[arg-type]


def accuracy_cell(value: object, ci: object) -> str:
    """ "47 % (39–55 %)": the accuracy with its 95 % interval, short enough for a table cell."""
    span = fmt.interval(ci)  # type: ignore[arg-type]
    return f"{fmt.pct(value)} ({span})" if span else fmt.pct(value)  # type: ignore[arg-type]


def _cell(value: object) -> str:
    """A stored value as people read it: times as UTC minutes, not ISO strings with microseconds."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return f"{fmt.when(value)} UTC"
    return "—" if value is None else str(value)


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Parameters and lineage with readable row names ("data start") and cells."""
    shown = frame.map(_cell)
    shown.index = [str(name).replace("_", " ") for name in frame.index]
    return shown


def versions_table(table: pd.DataFrame) -> list[int]:
    """The versions with the numbers people scan; returns the selected ids (one: its row panel)."""
    show = pd.DataFrame(
        {
            "Version": table["label"],
            "Active": table["active"],
            "Gate": [gate_label(v) for v in table["gate_verdict"]],
            "Accuracy (95 % CI)": [
                accuracy_cell(a, ci) for a, ci in zip(table["directional_accuracy"], table["ci"], strict=True)
            ],
            "Points": table["n"].map(fmt.count),
            "Baseline": table["baseline"].map(lambda v: fmt.pct(v, 1)),
            "Edge": table["edge"].map(fmt.pp),
            "P&L after costs": table["pnl"].map(lambda v: fmt.signed_pct(v, 2)),
            "Live accuracy": table["live_accuracy"].map(fmt.pct),
        }
    )
    event = st.dataframe(
        show,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="versions_table",
        width="stretch",
        column_config={
            "Version": st.column_config.TextColumn(pinned=True, help="The bot and its own version number"),
            "Active": st.column_config.CheckboxColumn(width="small", pinned=True),
            "Gate": st.column_config.TextColumn(
                help="What the promotion gate decided when the version was trained; its reason is in "
                "the row's details"
            ),
            "Accuracy (95 % CI)": st.column_config.TextColumn(
                help="Walk-forward out-of-sample accuracy of the predicted direction, with its 95 % CI"
            ),
            "Points": st.column_config.TextColumn(help="Out-of-sample bars the accuracy was measured on"),
            "Live accuracy": st.column_config.TextColumn(help="Accuracy of its paper or live calls"),
        },
    )
    rows = event.selection.rows if event is not None else []
    return [int(table["version_id"].iloc[i]) for i in rows]


def version_panel(rt: Runtime, table: pd.DataFrame, version_id: int) -> None:
    """One version in full: what the table leaves out, the gate's reason first."""
    row = table[table["version_id"] == version_id].iloc[0]
    row_panel(
        f"{row['label']} · {row['status']}{' · active' if row['active'] else ''}",
        {
            "Directional accuracy": fmt.proportion(row["directional_accuracy"], row["n"], row["ci"]),
            "Independent points": fmt.count(row["effective_n"]),
            "Trades": fmt.count(row["trades"]),
            "Created": f"{fmt.when(row['created_at'])} UTC ({fmt.ago(row['created_at'])})",
            "Edge vs active": fmt.pp(row["edge_vs_active"]),
            "P&L vs active": fmt.signed_pct(row["pnl_vs_active"], 2),
            "Training": str(row["type"] or "—"),
            "Label set": "—" if pd.isna(row["label_set_id"]) else f"set {int(row['label_set_id'])}",
        },
        notes={"Gate's reason": str(row["gate_reason"] or "not judged")},
    )


def gate_label(verdict: str | None) -> str:
    return {
        "promote": "promoted",
        "keep_active": "passed, kept the active one",
        "no_evidence": "no evidence of an edge",
        "below_baseline": "below its baseline",
    }.get(verdict or "", "not judged")


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
            "Out of sample = walk-forward folds (purged and embargoed): every bar is predicted by a "
            "model that never saw it. The baseline is the better of the majority direction and "
            "momentum on the same bars; independent points are at least one label horizon apart."
        )
    with tabs[1]:
        diff_params = st.toggle("Only rows that differ", key="cmp_diff_params", value=True)
        left, right = st.columns(2)
        params = models.differing_rows(cmp.params) if diff_params else cmp.params
        lineage = models.differing_rows(cmp.lineage) if diff_params else cmp.lineage
        left.markdown("**Parameters**")
        left.dataframe(_readable(params), width="stretch")
        right.markdown("**Lineage**")
        right.dataframe(_readable(lineage), width="stretch")
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
    pending_dialogs(rt)
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
    labels = dict(zip(candidates["version_id"], candidates["label"], strict=True))
    vid = ids[0] if len(ids) == 1 else row.selectbox("Version to activate", ids, format_func=labels.get)
    bot = str(candidates[candidates["version_id"] == vid]["bot"].iloc[0])
    may = can(rt.actor, Permission.ACTIVATE)
    if row.button(
        f"Activate {labels[vid]}",
        type="primary",
        icon=":material/rocket_launch:",
        key="activate",
        disabled=not may.allowed,
        help=may.reason,
    ):
        active = table[(table["bot"] == bot) & table["active"]]
        session.ACTIVATING.set((vid, int(active["version_id"].iloc[0]) if not active.empty else None))
        st.rerun()


def pending_dialogs(rt: Runtime) -> None:
    """Re-open a confirmation the analyst has not answered yet (after any rerun)."""
    pending = session.ACTIVATING.get()
    if pending is not None:
        vid, current_id = pending
        confirm_activation(rt, vid, current_id)
        return  # one dialog at a time
    rolling = session.ROLLING_BACK.get()
    if rolling is not None:
        confirm_rollback(rt, *rolling)


def _dismissed() -> None:
    session.ACTIVATING.pop()


@st.dialog("Activate this version?", on_dismiss=_dismissed)
def confirm_activation(rt: Runtime, version_id: int, current: int | None) -> None:
    cmp = models.compare(rt.ctx, [version_id] + ([current] if current else []))
    new_label = cmp.labels[0]
    if current:
        st.markdown(f"**{new_label}** replaces **{cmp.labels[1]}** as the active model of its bot.")
    else:
        st.markdown(f"**{new_label}** becomes the active model of its bot (none is active now).")
    for label in cmp.labels:
        acc = cmp.metrics.at["Directional accuracy (out of sample)", label]
        n = cmp.counts.at["Directional accuracy (out of sample)", label]
        ci = cmp.intervals.at["Directional accuracy (out of sample)", label]
        base = cmp.metrics.at["Naive baseline", label]
        st.markdown(f"- {label}: {fmt.proportion(acc, n, ci)}, baseline {fmt.pct(base, 1)}")
    warning = activation_warning(rt.ctx, version_id)
    if warning:
        st.warning(
            f"{warning}. It would not go live on its own: activating it is your decision, "
            "recorded with your name in the activation history.",
            icon=":material/warning:",
        )
    cols = st.columns(2)
    if cols[0].button("Activate", type="primary", key="confirm_activate", width="stretch"):
        session.ACTIVATING.pop()
        reason = "activated from the dashboard" + (" despite the gate" if warning else "")
        try:
            request = ActivateRequest(version_id=version_id, reason=reason)
            result = model_actions.activate(rt.ctx, rt.actor, request)
        except CandleLabError as exc:
            session.PENDING_TOAST.set((inert.error(exc), ":material/error:"))
        else:
            previous = result.previous_active_id
            was = f" (was {models.label_of(rt.ctx, previous)})" if previous else ""
            session.PENDING_TOAST.set((f"{new_label} is active{was}", ":material/check_circle:"))
        st.rerun()
    if cols[1].button("Cancel", key="cancel_activate", width="stretch"):
        session.ACTIVATING.pop()
        st.rerun()


def _rollback_dismissed() -> None:
    session.ROLLING_BACK.pop()


@st.dialog("Roll back this bot?", on_dismiss=_rollback_dismissed)
def confirm_rollback(rt: Runtime, symbol: str, timeframe: str, bot: str, current: int, previous: int) -> None:
    cmp = models.compare(rt.ctx, [current, previous])
    st.markdown(f"**{cmp.labels[1]}** becomes active again in place of **{cmp.labels[0]}**.")
    for label in cmp.labels:
        acc = cmp.metrics.at["Directional accuracy (out of sample)", label]
        n = cmp.counts.at["Directional accuracy (out of sample)", label]
        ci = cmp.intervals.at["Directional accuracy (out of sample)", label]
        st.markdown(f"- {label}: {fmt.proportion(acc, n, ci)}")
    warning = activation_warning(rt.ctx, previous)
    if warning:
        st.warning(f"{warning}.", icon=":material/warning:")
    cols = st.columns(2)
    if cols[0].button("Roll back", type="primary", key="confirm_rollback", width="stretch"):
        session.ROLLING_BACK.pop()
        try:
            request = RollbackRequest(symbol=symbol, timeframe=timeframe, bot=bot)
            result = model_actions.rollback(rt.ctx, rt.actor, request)
            message = f"{bot}: rolled back to {models.label_of(rt.ctx, result.version_id)}"
            session.PENDING_TOAST.set((message, ":material/undo:"))
        except CandleLabError as exc:
            session.PENDING_TOAST.set((inert.error(exc), ":material/error:"))
        st.rerun()
    if cols[1].button("Cancel", key="cancel_rollback", width="stretch"):
        session.ROLLING_BACK.pop()
        st.rerun()


def timeline(rt: Runtime, sel: Selection) -> None:
    history = models.timeline(rt.ctx, sel.symbol, sel.timeframe)
    targets = models.rollback_targets(rt.ctx, sel.symbol, sel.timeframe)
    labels = models.version_labels(rt.ctx, sel.symbol, sel.timeframe)
    if targets:
        row = st.container(horizontal=True)
        may = can(rt.actor, Permission.ACTIVATE)
        for bot, (current, previous) in targets.items():
            names = labels.get(current, bot), labels.get(previous, f"the previous {bot}")
            if row.button(
                f"Roll back {bot}: {names[0]} → {names[1]}",
                key=f"rollback-{bot}",
                icon=":material/undo:",
                disabled=not may.allowed,
                help=may.reason,
            ):
                session.ROLLING_BACK.set((sel.symbol, sel.timeframe, bot, current, previous))
                st.rerun()
    if history.empty:
        st.caption("No activations yet.")
        return
    why = models.name_versions(rt.ctx, list(history["reason"].fillna("")))
    show = pd.DataFrame(
        {
            "When (UTC)": history["created_at"].map(fmt.when),
            "Bot": history["bot"],
            "Action": history["action"],
            "Version": [
                labels.get(int(v), str(b)) for v, b in zip(history["version_id"], history["bot"], strict=True)
            ],
            "Replaced": [
                "—" if pd.isna(v) else labels.get(int(v), str(b))
                for v, b in zip(history["previous_version_id"], history["bot"], strict=True)
            ],
            "By": history["actor"],
        }
    )
    # The reason is a sentence (the gate's verdict, a demotion's figures): in the row's panel, not
    # a column that either clips it or pushes the table wider than the page.
    event = st.dataframe(
        show,
        hide_index=True,
        width="stretch",
        key="activation_history",
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows if event is not None else []
    if not rows:
        st.caption("Select a row for why it happened.")
        return
    i = rows[0]
    when = history["created_at"].iloc[i]
    row_panel(
        f"{show['Action'].iloc[i].capitalize()} {show['Version'].iloc[i]}",
        {
            "When": f"{fmt.when(when)} UTC ({fmt.ago(when)})",
            "Replaced": show["Replaced"].iloc[i],
            "By": str(show["By"].iloc[i]),
        },
        notes={"Why": why[i] or "no reason recorded"},
        per_row=3,
    )
