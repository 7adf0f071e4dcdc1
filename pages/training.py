"""Training: start a full training with the original system's parameters, watch every job,
LLM spend against the budget, provider status and the scheduler's next runs."""

from __future__ import annotations

import streamlit as st

from core.bots import BOT_NAMES
from core.errors import CandleLabError
from core.jobs.store import JobAlreadyActive
from core.jobs.triggers import training_params
from core.views import labels as label_views
from dashboard import formatting as fmt
from dashboard.components import jobs_panel
from dashboard.runtime import runtime
from dashboard.state import current

LABELERS = {
    "auto": "Auto (LLM if configured, else rules)",
    "llm": "LLM analyst",
    "rules": "Rule-based analyst",
    "hindsight": "Hindsight (knows the future; baseline only)",
}
ACTIVATE = {"gate": "If it beats the active version", "always": "Always", "never": "Never (review first)"}

rt = runtime()
sel = current()
settings = rt.settings
public = settings.public_summary()
st.title("Training", anchor=False)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(f"Full training · {sel.label}", anchor=False)
    defaults = training_params(settings, "full")
    c1, c2 = st.columns(2)
    lookback = c1.number_input("Lookback days", 1, 3650, int(defaults["lookback_days"]), key="train_lookback")
    samples = c2.number_input(
        "Sample points", 10, 5000, int(defaults["samples"]), step=10, key="train_samples"
    )
    bots = st.multiselect("Bots", list(BOT_NAMES), default=list(defaults["bots"]), key="train_bots")
    c3, c4 = st.columns(2)
    labeler = c3.selectbox("Labeler", list(LABELERS), format_func=LABELERS.get, key="train_labeler")
    activate = c4.selectbox(
        "Activate the new versions", list(ACTIVATE), format_func=ACTIVATE.get, key="train_activate"
    )
    train_bots = st.toggle(
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
            "LLM provider", providers, index=default, key="train_provider",
            help="Used when the LLM analyst labels; only configured providers are offered",
        )  # fmt: skip
    else:
        st.caption("LLM provider: none configured (the rule-based analyst labels offline)")
    run_ctx = rt.ctx.for_llm_provider(llm_provider)

    chosen = None if labeler == "auto" else labeler
    estimate = None
    try:
        estimate = label_views.cost_estimate(run_ctx, int(samples), chosen)
    except CandleLabError as exc:
        st.warning(str(exc))
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
            st.info(
                f"No LLM cost: the {estimate['labeler']} labeler runs offline.", icon=":material/payments:"
            )
    blocked = estimate is None or not bots or not estimate.get("within_budget", True)
    if st.button(
        "Start training" if train_bots else "Start labeling",
        type="primary",
        disabled=blocked,
        icon=":material/play_arrow:",
    ):
        labeling = {
            "lookback_days": int(lookback),
            "samples": int(samples),
            "labeler": chosen,
            "sampling": "mixed",
            "refresh": True,
            "bypass_cache": True,
        }
        if train_bots:
            try:
                job = rt.runner.submit(
                    "full",
                    sel.symbol,
                    sel.timeframe,
                    {
                        **defaults,
                        **labeling,
                        "bots": bots,
                        "activate": activate,
                        "llm_provider": llm_provider,
                    },
                    requested_by="dashboard",
                )
                st.toast(f"Full training started: job {job.job_id}")
            except JobAlreadyActive as exc:
                st.warning(str(exc))
        else:
            rt.submit_labeling(sel.symbol, sel.timeframe, llm_provider=llm_provider, **labeling)
            st.toast("Labeling started; the label set appears on the Labels page")
with right:
    st.subheader("Budget and providers", anchor=False)
    jobs_panel.spend(rt)
    st.markdown(
        f"- LLM analyst: **{'configured' if public['llm_configured'] else 'not configured'}** "
        f"({public['llm_provider']})\n"
        f"- Market data: **{public['market_data_provider']}**\n- Database: **{public['database']}**"
    )

st.subheader("Jobs", anchor=False)
jobs_panel.job_list(rt)
st.subheader("Scheduler", anchor=False)
jobs_panel.schedule(rt)
