"""Training: start a full training with the original system's parameters, watch every job,
LLM spend against the budget, provider status and the scheduler's next runs."""

from __future__ import annotations

import streamlit as st

from core.errors import CandleLabError
from core.requests import LabelingRequest, TrainingRequest, parse
from core.services.actors import Permission
from core.services.runs import start_labeling, start_training
from core.views import labels as label_views
from core.views.access import can
from core.views.jobs import bot_choices, full_training_defaults, labeler_choices
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.components import jobs_panel
from dashboard.components.job_detail import job_detail
from dashboard.runtime import runtime
from dashboard.state import current

ACTIVATE = {
    "gate": "If it passes the gate",
    "always": "Always (manual)",
    "never": "Never (review first)",
}

rt = runtime()
sel = current()
settings = rt.settings
public = settings.public_summary()
# The form opens from a button in the header, as New label set does on Labels: its seven widgets
# were about 150 ms of every opening of the page (a paired A/B in Chromium), and the page is mostly
# watched, not started from.
head = st.container(horizontal=True, vertical_alignment="bottom", horizontal_alignment="distribute")
head.title("Training", anchor=False, width="content")
form = head.popover(
    f"Full training · {sel.label}", icon=":material/play_arrow:", type="primary", key="train_form"
)
defaults = full_training_defaults(rt.ctx, sel.symbol, sel.timeframe)
assert defaults.labels is not None
with form:
    c1, c2 = st.columns(2)
    lookback = c1.number_input(
        "Lookback days", 1, 3650, int(defaults.labels.lookback_days or 1), key="train_lookback"
    )
    samples = c2.number_input(
        "Sample points", 10, 5000, defaults.labels.samples, step=10, key="train_samples"
    )
    bot_titles = bot_choices()
    bots = st.multiselect(
        "Bots", list(bot_titles), default=list(defaults.bots), format_func=bot_titles.get, key="train_bots"
    )
    # The labeler's titles are long ("Next candle's close (the traditional baseline)"): its own row,
    # so no choice shows a cut value.
    labelers = labeler_choices(settings, auto=True)
    labeler = st.selectbox(
        "Labeler",
        list(labelers),
        format_func=labelers.get,
        key="train_labeler",
        help="Auto: the LLM analyst if one is configured, else the rule-based analyst (offline)",
    )
    c3, c4 = st.columns(2, vertical_alignment="bottom")
    activate = c3.selectbox(
        "Activate the new versions",
        list(ACTIVATE),
        format_func=ACTIVATE.get,
        key="train_activate",
        help="The gate: a new version goes live only if it beats its naive baseline and the active "
        "version out of sample. Always activates it anyway (recorded as a manual activation).",
    )
    train_bots = c4.toggle(
        "Use the labels for training",
        value=True,
        key="train_use",
        help="Off: only label the points (the label set appears on the Labels page)",
    )
    providers = settings.configured_llm_providers
    llm_provider = None
    if providers:
        default = providers.index(settings.llm_provider) if settings.llm_provider in providers else 0
        llm_provider = st.selectbox(
            "LLM provider",
            providers,
            index=default,
            key="train_provider",
            help="Used when the LLM analyst labels; only configured providers are offered",
        )
    run_ctx = rt.ctx.for_llm_provider(llm_provider)

    chosen = None if labeler == "auto" else labeler
    estimate = None
    try:
        estimate = label_views.cost_estimate(run_ctx, int(samples), chosen)
    except CandleLabError as exc:
        st.warning(inert.error(exc))
    if estimate is not None:
        if estimate["calls"]:
            st.info(
                f"Estimated cost: **{fmt.usd(estimate['usd'])}** for {estimate['calls']:,} LLM calls "
                f"(~{estimate['tokens_in']:,} tokens in, {estimate['tokens_out']:,} out; "
                "cached replies cost nothing). "
                f"{fmt.usd(estimate['budget_remaining_usd'])} of today's budget left.",
                icon=":material/payments:",
            )
        else:
            offline = "" if providers else "; no LLM provider is configured"
            st.caption(f"No LLM cost: the {estimate['labeler']} labeler runs offline{offline}.")
    blocked = estimate is None or not bots or not estimate.get("within_budget", True)
    may = can(rt.actor, Permission.TRAIN if train_bots else Permission.LABEL)
    if st.button(
        "Start training" if train_bots else "Start labeling",
        type="primary",
        disabled=blocked or not may.allowed,
        help=may.reason,
        icon=":material/play_arrow:",
    ):
        labeling = defaults.labels.model_copy(
            update={
                "lookback_days": float(lookback),
                "samples": int(samples),
                "labeler": chosen,
                "llm_provider": llm_provider,
            }
        ).model_dump()
        try:
            if train_bots:
                request = parse(
                    TrainingRequest,
                    symbol=sel.symbol,
                    timeframe=sel.timeframe,
                    kind="full",
                    bots=bots,
                    labels=labeling,
                    activate=activate,
                )
                job = start_training(rt.runner, rt.actor, request)
                session.JOB_STARTED.set(job.job_id)
                st.toast(f"Full training started: job {job.job_id}")
            else:
                request = parse(LabelingRequest, symbol=sel.symbol, timeframe=sel.timeframe, **labeling)
                job = start_labeling(rt.runner, rt.actor, request)
                session.JOB_STARTED.set(job.job_id)
                st.toast(f"Labeling started (job {job.job_id}); the label set appears on the Labels page")
        except CandleLabError as exc:
            st.warning(inert.error(exc))
with st.container(width=560):
    st.subheader("Budget and providers", anchor=False)
    jobs_panel.spend(rt)
    st.markdown(
        f"- LLM analyst: **{'configured' if public['llm_configured'] else 'not configured'}** "
        f"({public['llm_provider']})\n"
        f"- Market data: **{public['market_data_provider']}**\n- Database: **{public['database']}**"
    )

st.subheader("Jobs", anchor=False)
jobs_panel.job_list(rt)
job_detail(rt)
st.subheader("Scheduler", anchor=False)
jobs_panel.schedule(rt)
