"""The chart's toolbar row (pair, data badge, model age, viewed timeframe, Retrain now) and the
view the chart opens with."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.requests import TriggerRequest
from core.services.actors import Permission
from core.services.runs import trigger_training
from core.views.access import can
from core.views.candles import CandleSeries, candles_since, held_count, newest, view_timeframes
from core.views.jobs import freshness
from core.views.market import ALL_RANGE, SeriesSummary, data_badge, range_start
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.components.progress import announce
from dashboard.lwchart import ChartView
from dashboard.runtime import Runtime
from dashboard.state import Selection


def header(rt: Runtime, sel: Selection, summary: SeriesSummary) -> str:
    """One compact row: the pair, its data badge and model age, the timeframe it is viewed at, and
    Retrain now. Returns the viewed timeframe (the stored one, or a coarser one resampled from it)."""
    views = view_timeframes(sel.timeframe)
    if VIEW_TF_KEY in st.session_state and st.session_state[VIEW_TF_KEY] not in views:
        del st.session_state[VIEW_TF_KEY]  # another pair's choice
    wanted = session.PENDING_VIEW.pop()
    if wanted in views:
        st.session_state[VIEW_TF_KEY] = wanted
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    with row:
        st.subheader(sel.symbol, anchor=False)
        badge = data_badge(summary)
        state = freshness(rt.ctx, sel.symbol, sel.timeframe)
        detail = inert.md(badge.detail) if summary.stale else badge.detail  # may quote the provider
        detail += f" {fmt.count(summary.rows)} {sel.timeframe} bars stored."
        st.badge(badge.label, color=badge.tone, help=detail)  # type: ignore[arg-type]
        if state.newest_trained_at is None:
            st.badge(
                "No model yet",
                color="orange",
                help="Quick training starts when a pair without a model is opened.",
            )
        else:
            tone = "orange" if state.stale else "green"
            st.badge(f"Models {fmt.ago(state.newest_trained_at)}", color=tone, help=state.reason)  # type: ignore[arg-type]
        view = st.selectbox(
            "View as",
            views,
            key=VIEW_TF_KEY,
            label_visibility="collapsed",
            width=150,
            format_func=lambda tf: tf if tf == sel.timeframe else f"{tf} (from {sel.timeframe})",
            help=f"The stored {sel.timeframe} bars, or merged exactly into longer candles",
        )
        may_train = can(rt.actor, Permission.TRAIN)
        if st.button(
            "Retrain now",
            icon=":material/refresh:",
            type="primary",
            key="retrain_now",
            disabled=not may_train.allowed,
            help=may_train.reason or "Quick training on fresh bars, whatever the models' age",
        ):
            request = TriggerRequest(symbol=sel.symbol, timeframe=sel.timeframe, force=True)
            try:
                result = trigger_training(rt.runner, rt.actor, request)
            except CandleLabError as exc:  # e.g. a QUICK_BOTS entry that names no bot
                st.warning(inert.error(exc))
                return view
            if result.started and result.job_id is not None:
                announce(sel, result.job_id, "on request (Retrain now)")
            else:  # e.g. a job already runs for the pair: its progress line is below
                st.toast(result.reason)
    return view


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
        stale = result.staleness
        if stale is None or stale.newest_trained_at is None:
            announce(sel, result.job_id, "because the pair has no model yet")
        else:
            announce(sel, result.job_id, f"because the models are stale: {stale.reason}")
    # A pair held back after failing on its input says so below the header (`failures`).


VIEW_TF_KEY = "chart_view_tf"
CHART_KEY = "candle_chart"
DEFAULT_CANDLES = 1_000
DEFAULT_INDICATORS = ["SMA 20", "SMA 50"]
DEFAULT_OVERLAYS = ["Signals", "Paper trades"]


def initial_view(presets: list[str], rows: int) -> tuple[ChartView, bool]:
    """The view the chart opens with, and whether a link asked for it (`?range=1M`, `?candles=5000`).

    Chosen once per pair and session and then left alone: the chart keeps the analyst's later
    choices itself and reports them (`remember_view`), so the data sent never changes with them."""
    wanted_range = st.query_params.get("range", "")
    wanted = st.query_params.get("candles", "")
    if wanted_range in presets:
        return ChartView(wanted_range, None, DEFAULT_INDICATORS, DEFAULT_OVERLAYS), True
    if wanted.isdigit() and int(wanted) == 0:
        return ChartView(ALL_RANGE, None, DEFAULT_INDICATORS, DEFAULT_OVERLAYS), True
    if wanted.isdigit() and 0 < int(wanted) < rows:
        return ChartView(None, int(wanted), DEFAULT_INDICATORS, DEFAULT_OVERLAYS), True
    if rows > DEFAULT_CANDLES:
        return ChartView(None, DEFAULT_CANDLES, DEFAULT_INDICATORS, DEFAULT_OVERLAYS), False
    return ChartView(ALL_RANGE, None, DEFAULT_INDICATORS, DEFAULT_OVERLAYS), False


def opening_view(pair: str, presets: list[str], rows: int) -> tuple[ChartView, bool]:
    views = session.CHART_VIEWS.setdefault(dict)
    if pair not in views:
        views[pair] = initial_view(presets, rows)
    return views[pair]


def remember_view() -> None:
    """The chart reported a new view: the link follows it (`range`), so it can be shared."""
    state = st.session_state.get(CHART_KEY)
    view = getattr(state, "view", None) if state is not None else None
    if not isinstance(view, dict):
        return
    chosen = view.get("range")
    if isinstance(chosen, str) and chosen:
        st.query_params["range"] = chosen
        st.query_params.pop("candles", None)


def held_candles(pair: str, series: CandleSeries, view: ChartView, presets: list[str]) -> CandleSeries:
    """The newest candles the chart holds for `pair`: enough for its opening view three times over,
    grown by what it asked for since (`ask_history`), never shrinking within the session."""
    held = session.CHART_HELD.setdefault(dict)
    ask = session.CHART_ASKS.setdefault(dict).pop(pair, None)
    total = len(series.candles)
    last = (
        pd.Timestamp(int(series.candles["t"].iat[-1]), unit="s", tz="UTC").to_pydatetime() if total else None
    )
    in_view = view.candles or (
        candles_since(series, range_start(view.range, last)) if last and view.range else 0
    )
    wanted = 0
    if ask is not None:
        asked = ask.get("range")
        if asked in presets and last is not None:  # the range and as much again to scroll back into
            wanted = 2 * candles_since(series, range_start(asked, last))  # All: the whole history
        else:  # scrolled back near the oldest candle held: twice as many
            wanted = 2 * int(ask.get("held") or 0)
    count = held_count(total, in_view, held.get(pair, 0), wanted)
    held[pair] = count
    return newest(series, count)


def ask_history() -> None:
    """The chart asked for earlier history (scrolled back to its oldest candle, or a range reaching
    further): remembered for the rerun this ask starts, which sends the longer window."""
    state = st.session_state.get(CHART_KEY)
    ask = getattr(state, "history", None) if state is not None else None
    if isinstance(ask, dict) and isinstance(ask.get("pair"), str):
        held = ask.get("held")
        asked = ask.get("range")
        session.CHART_ASKS.setdefault(dict)[ask["pair"]] = {
            "held": held if isinstance(held, int) and held >= 0 else 0,
            "range": asked if isinstance(asked, str) else None,
        }
