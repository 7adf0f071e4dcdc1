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
from core.views.market import (
    ALL_RANGE,
    INDICATORS,
    WINDOW_CHOICES,
    SeriesSummary,
    data_badge,
    range_presets,
)
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.components.progress import watch
from dashboard.runtime import Runtime
from dashboard.state import Selection

OVERLAYS = ("Signals", "Paper trades", "Labels")


@dataclass(frozen=True)
class ChartOptions:
    candles: int | None  # the newest N candles, when no date range is chosen
    range: str | None  # a date-range preset ("1M", "YTD", "All"), else None
    indicators: list[str]
    overlays: list[str]

    @property
    def window_key(self) -> str:
        return f"range={self.range}" if self.range else f"candles={self.candles}"


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
    # A pair held back after failing on its input says so below the header (`failures`).


CANDLES_KEY, RANGE_KEY = "chart_candles", "chart_range"
DEFAULT_CANDLES = 1_000


def _range_chosen() -> None:
    """A date range replaces the candle count (the two choose the same thing, the window)."""
    if st.session_state.get(RANGE_KEY) is not None:
        st.session_state[CANDLES_KEY] = None


def _candles_chosen() -> None:
    if st.session_state.get(CANDLES_KEY) is not None:
        st.session_state[RANGE_KEY] = None


def _from_link(choices: list[int], presets: list[str]) -> None:
    """A link may ask for a window once per session: ?range=1M, or ?candles=5000 (0: all)."""
    if CANDLES_KEY in st.session_state or RANGE_KEY in st.session_state:
        return
    wanted_range = st.query_params.get("range", "")
    wanted = st.query_params.get("candles", "")
    if wanted_range in presets:
        st.session_state[RANGE_KEY], st.session_state[CANDLES_KEY] = wanted_range, None
    elif wanted.isdigit() and int(wanted) == 0:
        st.session_state[RANGE_KEY], st.session_state[CANDLES_KEY] = ALL_RANGE, None
    elif wanted.isdigit() and int(wanted) in choices:
        st.session_state[CANDLES_KEY] = int(wanted)


def controls(summary: SeriesSummary) -> ChartOptions:
    """The window (a date range or the newest N candles), indicators and overlays, in one row that
    wraps rather than clips on a narrow screen."""
    presets = range_presets(summary)
    choices = [c for c in WINDOW_CHOICES if c is not None and c < summary.rows]
    _from_link(choices, presets)
    for key, valid in ((RANGE_KEY, presets), (CANDLES_KEY, choices)):  # another pair's choice
        if st.session_state.get(key) is not None and st.session_state[key] not in valid:
            st.session_state[key] = None
    if st.session_state.get(RANGE_KEY) is None and st.session_state.get(CANDLES_KEY) is None:
        st.session_state[CANDLES_KEY] = DEFAULT_CANDLES if DEFAULT_CANDLES in choices else None
        if st.session_state[CANDLES_KEY] is None:
            st.session_state[RANGE_KEY] = ALL_RANGE
    row = st.container(horizontal=True, gap="medium", vertical_alignment="bottom")
    with row:
        preset = st.segmented_control(
            "Range",
            presets,
            key=RANGE_KEY,
            on_change=_range_chosen,
            persist_state="session",
            help="Counted back from the newest bar; All aggregates the whole history to at most "
            "5,000 candles",
        )
        candles = st.segmented_control(
            "Candles",
            choices,
            key=CANDLES_KEY,
            on_change=_candles_chosen,
            persist_state="session",
            format_func=lambda c: f"{c:,}",
            help="Or the newest N candles",
        )
        indicators = st.pills(
            "Indicators",
            list(INDICATORS),
            selection_mode="multi",
            default=["SMA 20", "SMA 50"],
            key="chart_indicators",
            persist_state="session",
        )
        overlays = st.pills(
            "Overlays",
            list(OVERLAYS),
            selection_mode="multi",
            default=["Signals", "Paper trades"],
            key="chart_overlays",
            persist_state="session",
        )
    return ChartOptions(
        candles if preset is None else None, preset, list(indicators or []), list(overlays or [])
    )
