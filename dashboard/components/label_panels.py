"""Labels page pieces: the new-label-set form, quality at a glance, the set on the candle chart,
the label table and one label in full (context sent, raw reply, reasoning, validation, what the
price did next)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from core.errors import CandleLabError
from core.requests import LabelingRequest, parse
from core.services.actors import Permission
from core.services.runs import start_labeling
from core.views import candles
from core.views import labels as views
from core.views.access import can
from core.views.candles import CandleSeries
from core.views.jobs import SAMPLINGS, label_defaults, labeler_choices, labeling_busy
from core.views.labels import LabelSetRow
from core.views.market import ALL_RANGE
from core.views.prices import PriceFormat
from dashboard import charts, inert, lwchart, session
from dashboard import formatting as fmt
from dashboard.components import chart_controls
from dashboard.lwchart import ChartView
from dashboard.runtime import Runtime
from dashboard.state import Selection
from dashboard.theme import ACCENT, STOP_COLOR, TARGET_COLOR

OUTCOME_TEXT = {
    "target_first": "target first",
    "stop_first": "stop first",
    "neither": "neither",
    "pending": "pending",
}


def new_label_set(rt: Runtime, sel: Selection) -> None:
    configured = rt.settings.llm_configured
    with st.popover("New label set", icon=":material/add:"), st.form("new_label_set", border=False):
        labelers = labeler_choices(rt.settings)
        labeler = st.selectbox(
            "Labeler",
            list(labelers),
            index=list(labelers).index("rules"),
            format_func=labelers.get,
            help=None if configured else "The LLM analyst is not configured",
        )
        defaults = label_defaults(rt.ctx, sel.symbol, sel.timeframe)
        samples = st.number_input("Sample points", 10, 5000, defaults.samples, step=10)
        lookback = st.number_input("Lookback days", 1, 3650, int(defaults.lookback_days or 1))
        sampling = st.selectbox("Sampling", list(SAMPLINGS), index=list(SAMPLINGS).index("mixed"))
        try:
            est = views.cost_estimate(rt.ctx, int(samples), labeler)
            via = " at batch prices (LLM_BATCH)" if est.get("batch") else ""
            st.caption(
                f"Estimated cost {fmt.usd(est['usd'])}{via} ({est['calls']:,} LLM calls); "
                f"{fmt.usd(est['budget_remaining_usd'])} of today's budget left."
            )
        except CandleLabError as exc:
            st.caption(inert.error(exc))
        may = can(rt.actor, Permission.LABEL)
        if st.form_submit_button("Start labeling", type="primary", disabled=not may.allowed, help=may.reason):
            try:
                request = parse(
                    LabelingRequest,
                    symbol=sel.symbol,
                    timeframe=sel.timeframe,
                    labeler=labeler,
                    samples=int(samples),
                    lookback_days=float(lookback),
                    sampling=sampling,
                )
                job = start_labeling(rt.runner, rt.actor, request)
            except CandleLabError as exc:
                st.warning(inert.error(exc))
            else:
                known = views.label_sets(rt.ctx, sel.symbol, sel.timeframe)
                session.LABELING_STARTED.set(frozenset(x.id for x in known))
                st.toast(
                    f"Labeling {samples} points of {sel.label} with the {labeler} labeler (job {job.job_id})…"
                )


def running_sets(rt: Runtime, sel: Selection, sets: list[LabelSetRow]) -> None:
    """A small polling fragment while label sets of the pair are being written."""
    busy = labeling_busy(rt.ctx, sel.symbol, sel.timeframe) or any(s.status == "running" for s in sets)
    if not busy:
        return

    @st.fragment(run_every=1.5)
    def _poll() -> None:
        now = views.label_sets(rt.ctx, sel.symbol, sel.timeframe)
        running = [s for s in now if s.status == "running"]
        if not running and not labeling_busy(rt.ctx, sel.symbol, sel.timeframe):
            st.rerun()
        for s in running:
            share = s.labeled / s.requested if s.requested else 0.0
            batch = views.batch_progress(rt.ctx, s.id) if s.params.get("batch") else None
            text = f"Label set #{s.id} ({s.labeler}): {s.labeled}/{s.requested} labels"
            st.progress(min(1.0, share), text=f"{text} · {batch}" if batch else text)
        if not running:
            st.caption("Preparing the labeling run…")

    _poll()


def quality(rt: Runtime, s: LabelSetRow) -> None:
    q = s.quality
    firewall = s.firewall
    if firewall:
        st.caption(
            f"Headline figures count only the **{fmt.count(firewall.get('post_cutoff_n'))}** labels after "
            f"the model's knowledge cutoff ({firewall.get('knowledge_cutoff')}); before it the model may "
            "remember what the price did."
        )
    n_dir = q.get("directional_scored") or 0
    hold = q.get("hold") or {}
    cols = st.columns(5)
    cols[0].metric(
        "Target before stop",
        fmt.pct(q.get("target_first_rate")),
        border=True,
        help=f"BUY/SELL labels whose target was hit before the stop: "
        f"{fmt.proportion(q.get('target_first_rate'), n_dir)}",
    )
    cols[0].caption(f"on {fmt.count(n_dir)} scored BUY/SELL labels")
    cols[1].metric(
        "Direction right",
        fmt.pct(q.get("directional_hit_rate")),
        border=True,
        help="Share of BUY/SELL labels whose horizon return went their way",
    )
    cols[1].caption(f"{fmt.count(q.get('pending'))} pending · {fmt.count(q.get('unscorable'))} unscorable")
    cols[2].metric("HOLD stayed in range", fmt.pct(hold.get("in_range_rate")), border=True)
    cols[2].caption(f"on {fmt.count(hold.get('count'))} HOLD labels")
    cols[3].metric("Accepted", f"{s.labeled:,} / {s.requested:,}", border=True)
    invalid = f" · {s.invalid_replies:,} invalid replies" if s.labeler == "llm" else ""
    cols[3].caption(f"{s.rejected:,} rejected by validation{invalid}")
    cols[4].metric("Cost", fmt.usd(s.cost_usd), border=True)
    via = " · batch" if s.params.get("batch") else ""
    cols[4].caption(f"{s.api_calls:,} calls · {s.cache_hits:,} cached{via} · {fmt.duration(s.wall_s)}")
    if firewall.get("pre_cutoff_n"):
        remembered(s)


def remembered(s: LabelSetRow) -> None:
    """The pre-cutoff labels' figures, apart from the headline: possibly memory, not skill."""
    r = s.remembered
    n = s.firewall.get("pre_cutoff_n") or 0
    n_dir = r.get("directional_scored") or 0
    with st.container(border=True):
        st.markdown(f"**Possibly remembered** · {fmt.count(n)} labels before the knowledge cutoff")
        cols = st.columns(3)
        cols[0].metric(
            "Target before stop",
            fmt.pct(r.get("target_first_rate")),
            help=fmt.proportion(r.get("target_first_rate"), n_dir),
        )
        cols[0].caption(f"on {fmt.count(n_dir)} scored BUY/SELL labels")
        cols[1].metric("Direction right", fmt.pct(r.get("directional_hit_rate")))
        anonymized = s.params.get("anonymized_points") or 0
        cols[2].metric("Anonymized prompts", fmt.count(anonymized))
        st.caption(
            "The model's training data covers these dates, so it may recall what came next: these "
            "figures can measure memory, not skill, and are kept out of the headline and calibration. "
            "Anonymizing the prompt (LLM_ANONYMIZE) reduces, but does not remove, that risk."
        )


def calibration(s: LabelSetRow) -> None:
    """How often a stated confidence came true: the set's reliability figure (Plotly)."""
    st.markdown("**Calibration** · target-before-stop rate by stated confidence")
    buckets = views.calibration_buckets(s.quality)
    if buckets:
        st.plotly_chart(
            charts.calibration_chart({f"set #{s.id}": buckets}, height=280), key="label_calibration"
        )
    else:
        st.caption("No scored BUY/SELL labels yet: outcomes appear once each label's horizon has passed.")


def agreement(table: pd.DataFrame) -> None:
    """How often the other labelers made the same call on exactly these points, beyond chance."""
    st.markdown("**Agreement** with other labelers on exactly these points")
    if table.empty:
        st.caption("Nothing to compare: this set is the only labeler of its kind here.")
        return
    show = pd.DataFrame(
        {
            "Against": table["against"],
            "Same call": [
                fmt.proportion(a, n) for a, n in zip(table["agreement"], table["shared_points"], strict=True)
            ],
            "Same direction (BUY/SELL)": [
                fmt.proportion(a, n)
                for a, n in zip(table["direction_agreement"], table["directional_shared"], strict=True)
            ],
            "Cohen's κ": table["kappa"].map(lambda v: fmt.num(v, 2)),
        }
    )
    st.dataframe(show, hide_index=True, width="stretch", key="label_agreement")
    st.caption("κ discounts agreement expected by chance: 0 = chance, 1 = perfect.")


def label_table(table: pd.DataFrame, prices: PriceFormat) -> int | None:
    """Filters and the table; returns the id of the selected label.

    The filters sit in a popover named by how many are on: the table keeps the room, and the
    page does not draw four widgets (their scripts loaded and laid out) before anyone filters."""
    calls = ["BUY", "SELL", "HOLD"]
    on = sum(
        (
            set(st.session_state.get("label_recs", calls) or []) != set(calls),
            bool(st.session_state.get("label_conf", 0.0)),
            bool(st.session_state.get("label_outcomes")),
            bool(st.session_state.get("label_rejected")),
        )
    )
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    filters = row.popover(
        f"Filters · {on} on" if on else "Filters", icon=":material/filter_list:", key="label_filters"
    )
    recs = filters.pills("Call", calls, selection_mode="multi", default=calls, key="label_recs")
    min_conf = filters.slider("Min. confidence", 0.0, 1.0, 0.0, 0.05, key="label_conf")
    outcomes = filters.multiselect(
        "Outcome", list(OUTCOME_TEXT), format_func=OUTCOME_TEXT.get, key="label_outcomes"
    )
    show_rejected = filters.toggle("Show rejected", key="label_rejected")
    view = table[table["status"] == "accepted"] if not show_rejected else table
    view = view[view["recommendation"].isin(recs or []) | view["recommendation"].isna()]
    view = view[view["confidence"].fillna(0) >= min_conf]
    if outcomes:
        view = view[view["outcome"].isin(outcomes)]
    row.caption(f"{len(view):,} of {len(table):,} labels")
    show = pd.DataFrame(
        {
            "Time (UTC)": view["ts"].map(fmt.when),
            "Call": view["recommendation"].fillna("—"),
            "Confidence": view["confidence"].map(fmt.pct),
            "Entry": view["current_price"].map(prices),
            "Target": view["target"].map(prices),
            "Stop": view["stop_loss"].map(prices),
            "Outcome": view["outcome"].map(lambda o: OUTCOME_TEXT.get(o, "—")),
            "Return": view["outcome_return"].map(lambda v: fmt.signed_pct(v, 2)),
            "Status": [
                st_ if st_ == "accepted" else f"rejected: {why}"
                for st_, why in zip(view["status"], view["reject_reason"], strict=True)
            ],
        }
    )
    event = st.dataframe(
        show, hide_index=True, on_select="rerun", selection_mode="single-row", key="labels_table", height=320
    )
    rows = event.selection.rows if event is not None else []
    return int(view["id"].iloc[rows[0]]) if rows else None


def label_detail(
    rt: Runtime, sel: Selection, label_id: int, prices: PriceFormat, series: CandleSeries
) -> None:
    d = views.label_detail(rt.ctx, label_id)
    if d is None:
        st.caption("That label no longer exists.")
        return
    color = fmt.REC_BADGE.get(d.recommendation or "", "gray")
    remembered_badge = "  :orange-badge[possibly remembered]" if d.pre_cutoff else ""
    st.markdown(
        f"#### Label #{d.id} · {fmt.when(d.ts)} UTC  :{color}-badge[{d.recommendation or '—'}]"
        + remembered_badge
    )
    if d.status == "accepted":
        st.success(
            f"Valid: {d.recommendation} with confidence {fmt.pct(d.confidence)}, bias {d.bias}, "
            f"horizon {d.horizon_bars} bars.",
            icon=":material/verified:",
        )
    else:
        st.error(f"Rejected: {inert.md(d.reject_reason)}", icon=":material/block:")
    left, right = st.columns([3, 2])
    with left:
        path_chart(sel, series, d, prices)
        outcome = OUTCOME_TEXT.get(d.outcome or "", "not scored")
        st.caption(
            f"What the price did next: **{outcome}**"
            + (
                f" after {d.outcome_bars} bars, return {fmt.signed_pct(d.outcome_return, 2)} "
                "in the call's direction"
                if d.outcome in ("target_first", "stop_first", "neither")
                else ""
            )
        )
    with right:
        st.markdown("**Reasoning**")
        inert.block(d.reasoning)  # the LLM's words: plain text, never Markdown
        if d.call:
            st.caption(
                f"{d.call['provider']} {d.call['model']} · {d.call['status']} · "
                f"{d.call['attempts']} attempt(s) · "
                f"{d.call['latency_ms']:.0f} ms · {d.call['tokens_in']}+{d.call['tokens_out']} tokens · "
                f"{fmt.usd(d.call['cost_usd'])}"
            )
    tabs = st.tabs(["Context sent", "Raw reply"])
    with tabs[0]:
        if d.anonymized:
            st.caption(
                "Exactly what was sent, anonymized: no symbol, no calendar dates (t0 is the point), prices "
                "rebased to 100 at the point and volumes relative to their mean; the reply was mapped back."
            )
        else:
            st.caption("Exactly what was sent.")
        st.json(d.context or {}, expanded=1)
    with tabs[1]:
        st.code(_pretty(d.raw_reply), language="json")


def _view(overlays: list[str]) -> ChartView:
    """Every candle sent in view, with the given overlays, whatever the Chart page last showed."""
    return ChartView(ALL_RANGE, None, chart_controls.DEFAULT_INDICATORS, overlays)


def set_chart(sel: Selection, series: CandleSeries, s: LabelSetRow, accepted: pd.DataFrame) -> None:
    """The set's stretch of history on the candle chart, each accepted label a marker whose hover
    gives its call, confidence, entry, target, stop and outcome."""
    ts = accepted["ts"]
    shown = candles.window(series, ts.min().to_pydatetime(), ts.max().to_pydatetime())
    lwchart.candle_chart(
        shown,
        title=f"{sel.label} · labels of set {s.id} ({s.labeler})",
        intraday=candles.view_intraday(sel.timeframe),
        presets=[ALL_RANGE],
        view=_view(["Labels"]),
        pinned=True,
        marks=lwchart.overlays(shown, [], None, _readable_outcomes(accepted).set_index("ts"), {}),
        key="labels_chart",
    )


def _readable_outcomes(labels: pd.DataFrame) -> pd.DataFrame:
    """Outcomes as the table says them ("target first"), for the markers' hover text."""
    return labels.assign(outcome=labels["outcome"].map(lambda o: OUTCOME_TEXT.get(o, "not scored")))


def path_chart(sel: Selection, series: CandleSeries, d: views.LabelDetail, prices: PriceFormat) -> None:
    """One label's bars, from a little before it to past its horizon, with its entry, target and
    stop as price lines: what the price did next."""
    if d.path.empty:
        st.caption("No stored bars around this label.")
        return
    shown = candles.window(series, d.path.index[0].to_pydatetime(), d.path.index[-1].to_pydatetime(), pad=0)
    label = pd.DataFrame(
        {
            "recommendation": [d.recommendation],
            "confidence": [d.confidence],
            "current_price": [d.current_price],
            "target": [d.target],
            "stop_loss": [d.stop_loss],
            "outcome": [OUTCOME_TEXT.get(d.outcome or "", "not scored")],
        },
        index=pd.DatetimeIndex([pd.Timestamp(d.ts)]),
    )
    marks = lwchart.overlays(shown, [], None, label, {})
    colors = {"entry": ACCENT, "target": TARGET_COLOR, "stop": STOP_COLOR}
    for name, price in (("entry", d.current_price), ("target", d.target), ("stop", d.stop_loss)):
        if price is not None and np.isfinite(price):
            marks.levels.append({"price": float(price), "kind": name, "color": colors[name], "title": name})
    lwchart.candle_chart(
        shown,
        title=f"Label {d.id} · {fmt.when(d.ts)} UTC · entry {prices(d.current_price)}",
        intraday=candles.view_intraday(sel.timeframe),
        presets=[ALL_RANGE],
        view=_view(["Labels"]),
        pinned=True,
        marks=marks,
        key="label_path",
    )


def _pretty(raw: str | None) -> str:
    if not raw:
        return "(no reply stored: offline labelers write their label directly)"
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw


def analyst_panel(rt: Runtime) -> None:
    """The LLM analyst's knowledge cutoff and its last recall probe (`python -m core llm probe`)."""
    if not rt.settings.llm_configured:
        return
    probe = views.last_probe(rt.ctx)
    cutoff = rt.settings.knowledge_cutoff.isoformat()
    with st.expander(f"LLM analyst · {rt.settings.llm_model} · knowledge cutoff {cutoff}"):
        if probe is None:
            st.caption(
                "No recall probe yet. `python -m core llm probe --symbol S --timeframe TF` asks the model "
                "for stored closes before and after its cutoff, beside yesterday's close as a naive guess."
            )
            return
        rows = []
        for side, title in (("before_cutoff", "Before the cutoff"), ("after_cutoff", "After the cutoff")):
            p = probe[side]
            rows.append(
                {
                    "": title,
                    "Dates": fmt.count(p.get("n")),
                    "Model's error": fmt.pct(p.get("mean_abs_error"), 2),
                    "Naive error": fmt.pct(p.get("naive_mean_abs_error"), 2),
                    "Recalled (±0.5 %)": fmt.pct(p.get("recalled_share")),
                }
            )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="llm_probe")
        verdict = (
            "The model recalls this series before its cutoff: its labels there are possibly remembered."
            if probe.get("remembers")
            else "No sign of recall beyond the naive guess."
        )
        st.caption(
            f"Last probe {fmt.when(probe.get('created_at'))} UTC on {inert.md(probe.get('symbol'))} "
            f"{inert.md(probe.get('timeframe'))}. {verdict}"
        )
