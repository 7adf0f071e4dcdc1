"""The chart's header (title, data badge, model age, Retrain now) and its display controls."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.errors import CandleLabError
from core.requests import TriggerRequest
from core.services.actors import Permission
from core.services.runs import trigger_training
from core.views.access import can
from core.views.jobs import freshness
from core.views.market import INDICATORS, WINDOW_CHOICES, SeriesSummary, data_badge
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.components.progress import watch
from dashboard.runtime import Runtime
from dashboard.state import Selection

OVERLAYS = ("Signals", "Paper trades", "Labels")


@dataclass(frozen=True)
class ChartOptions:
    candles: int | None
    indicators: list[str]
    overlays: list[str]


def header(rt: Runtime, sel: Selection, summary: SeriesSummary) -> None:
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    with left:
        st.title(sel.label, anchor=False)
        badge = data_badge(summary)
        state = freshness(rt.ctx, sel.symbol, sel.timeframe)
        row = st.container(horizontal=True, gap="small")
        detail = inert.md(badge.detail) if summary.stale else badge.detail  # may quote the provider
        row.badge(badge.label, color=badge.tone, help=detail)  # type: ignore[arg-type]
        if state.newest_trained_at is None:
            row.badge(
                "No model yet",
                color="orange",
                help="Quick training starts when a pair without a model is opened.",
            )
        else:
            tone = "orange" if state.stale else "green"
            row.badge(f"Models {fmt.ago(state.newest_trained_at)}", color=tone, help=state.reason)  # type: ignore[arg-type]
        row.caption(f"{fmt.count(summary.rows)} bars · last {fmt.when(summary.last)} UTC")
    with right:
        may_train = can(rt.actor, Permission.TRAIN)
        if st.button(
            "Retrain now",
            icon=":material/refresh:",
            type="primary",
            width="stretch",
            disabled=not may_train.allowed,
            help=may_train.reason or "Quick training on fresh bars, whatever the models' age",
        ):
            request = TriggerRequest(symbol=sel.symbol, timeframe=sel.timeframe, force=True)
            try:
                result = trigger_training(rt.runner, rt.actor, request)
            except CandleLabError as exc:  # e.g. a QUICK_BOTS entry that names no bot
                st.warning(inert.error(exc))
                return
            if result.job_id is not None:
                watch(sel, result.job_id)
            st.toast(f"Quick training started (job {result.job_id})" if result.started else result.reason)


def trigger_once(rt: Runtime, sel: Selection, summary: SeriesSummary) -> None:
    """The chart-view path: opening a stale pair starts quick training, once per view of a session.

    Only for someone who may train: a viewer's visit starts nothing (the badge shows the age)."""
    if not can(rt.actor, Permission.TRAIN).allowed:
        return
    viewed = session.VIEWED_PAIRS.setdefault(set)
    pair = (sel.symbol, sel.timeframe)
    if pair in viewed or summary.rows == 0:
        return
    viewed.add(pair)
    try:
        result = trigger_training(
            rt.runner, rt.actor, TriggerRequest(symbol=sel.symbol, timeframe=sel.timeframe)
        )
    except CandleLabError as exc:
        st.warning(f"Quick training cannot start: {inert.error(exc)}")
        return
    if result.state == "started" and result.job_id is not None:
        watch(sel, result.job_id)
        why = result.staleness.reason if result.staleness else "no model yet"
        st.toast(f"Models are stale ({why}): quick training started in the background")
    elif result.state == "failed_input":
        with st.expander(
            "Quick training did not start: its last run failed on its input", icon=":material/error:"
        ):
            st.text(result.reason)


def controls(total_rows: int) -> ChartOptions:
    cols = st.columns([3, 3, 2], vertical_alignment="bottom")
    # 0 stands for "all" (a segmented control cannot offer None as an option).
    choices = [c for c in WINDOW_CHOICES if c is not None and c < total_rows] + [0]
    default = 1_000 if 1_000 in choices else choices[-1]
    if "chart_candles" not in st.session_state:  # a link may ask for a window: ?candles=5000 (0: all)
        wanted = st.query_params.get("candles", "")
        if wanted.isdigit() and int(wanted) in choices:
            default = int(wanted)
    candles = cols[0].segmented_control(
        "Candles",
        choices,
        default=default,
        key="chart_candles",
        persist_state="session",
        required=True,
        format_func=lambda c: "All" if c == 0 else f"{c:,}",
        help="The newest N candles; All aggregates the whole history to at most 5,000 candles",
    )
    indicators = cols[1].pills(
        "Indicators",
        list(INDICATORS),
        selection_mode="multi",
        default=["SMA 20", "SMA 50"],
        key="chart_indicators",
        persist_state="session",
    )
    overlays = cols[2].pills(
        "Overlays",
        list(OVERLAYS),
        selection_mode="multi",
        default=["Signals", "Paper trades"],
        key="chart_overlays",
        persist_state="session",
    )
    return ChartOptions(candles or None, list(indicators or []), list(overlays or []))
