"""One job in full on the Training page: its whole error, what it registered and what the promotion
gate said of each version, and its LLM calls and cost from the ledger; and every failed job's full
message in one place."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.views import jobs
from core.views.jobs import JobView
from core.views.models import name_versions
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.components.versions import accuracy_cell, gate_label
from dashboard.runtime import Runtime

FAILED = ("failed", "interrupted", "budget_exhausted", "cancelled")
DETAIL_KEY = "job_detail"


def _title(job: JobView) -> str:
    return f"#{job.job_id} · {job.kind} · {job.symbol} {job.timeframe} · {job.status.replace('_', ' ')}"


def _ledger(rt: Runtime, job: JobView) -> None:
    totals = jobs.job_ledger(rt.ctx, job.job_id)
    cols = st.columns(4)
    cols[0].metric(
        "LLM calls", fmt.count(totals.calls), border=True, help="Requests sent (cache hits excluded)"
    )
    cols[1].metric(
        "Attempts", fmt.count(totals.attempts), border=True, help="HTTP requests, retries included"
    )
    cols[2].metric("Cache hits", fmt.count(totals.cache_hits), border=True)
    cols[3].metric("LLM cost", fmt.usd(totals.cost_usd), border=True)
    st.caption(
        f"{fmt.count(totals.tokens_in)} tokens in · {fmt.count(totals.tokens_out)} out · "
        f"{fmt.count(totals.failed)} failed requests · from the LLM ledger"
    )


def _versions(rt: Runtime, job: JobView) -> None:
    results = jobs.version_results(job)
    if not results:
        return
    reasons = name_versions(rt.ctx, [r["gate_reason"] for r in results])
    st.markdown("**Versions registered**")
    st.dataframe(
        pd.DataFrame(
            {
                "Version": [r["label"] for r in results],
                "Live": ["yes" if r["activated"] else "no" for r in results],
                "Accuracy (95 % CI)": [accuracy_cell(r["directional_accuracy"], r["ci"]) for r in results],
                "Points": [fmt.count(r["n"]) for r in results],
                "Independent": [fmt.count(r["effective_n"]) for r in results],
                "Baseline": [fmt.pct(r["baseline"], 1) for r in results],
                "Gate": [gate_label(r["gate_verdict"]) for r in results],
            }
        ),
        hide_index=True,
        width="stretch",
        key=f"job_versions_{job.job_id}",
    )
    for r, reason in zip(results, reasons, strict=True):  # long sentences: below, not in a column
        st.caption(f"{r['label']}, the gate's reason:")
        inert.block(reason or "not judged")


def job_detail(rt: Runtime) -> None:
    """Pick a job (the newest failure first) and see it in full."""
    rows = jobs.recent_jobs(rt.ctx, limit=50)
    if not rows:  # no heading over nothing: the job list above already says there are none
        return
    st.subheader("Job details", anchor=False)
    failed = [j for j in rows if j.status in FAILED and j.error]
    by_id = {j.job_id: j for j in rows}
    ids = list(by_id)
    started = session.JOB_STARTED.pop()  # a job this page just started is the one to see
    if started in by_id:
        st.session_state[DETAIL_KEY] = started
    elif st.session_state.get(DETAIL_KEY) not in by_id:  # first visit, or the job left the list
        st.session_state[DETAIL_KEY] = failed[0].job_id if failed else ids[0]
    chosen = st.selectbox("Job", ids, format_func=lambda i: _title(by_id[i]), key=DETAIL_KEY)
    job = by_id[chosen]
    with st.container(border=True):
        st.caption(
            f"Requested by {job.requested_by} · created {fmt.when(job.created_at)} UTC "
            f"({fmt.ago(job.created_at)}) · finished "
            f"{f'{fmt.when(job.finished_at)} UTC ({fmt.ago(job.finished_at)})' if job.finished_at else '—'}"
            f" · stage {job.stage}"
        )
        if job.error:
            st.markdown("**Error** (full message)")
            st.code(job.error, language=None, wrap_lines=True)
        elif job.status == "succeeded":
            st.success(jobs.outcome_line(job), icon=":material/check_circle:")
        _versions(rt, job)
        _ledger(rt, job)
    if len(failed) > 1:
        with st.expander(f"Every failed job's full message ({len(failed)})", icon=":material/error:"):
            for j in failed:
                st.markdown(f"**{_title(j)}** · {fmt.when(j.finished_at or j.created_at)} UTC")
                st.code(j.error or "", language=None, wrap_lines=True)
