"""The Training page's live pieces: the job list (a polling fragment), LLM spend and the schedule."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.services.actors import Permission
from core.services.runs import cancel_job
from core.views import jobs
from core.views.access import can
from dashboard import formatting as fmt
from dashboard.runtime import Runtime

POLL_S = 2.0


def _job_frame(rows: list, ledgers: dict) -> pd.DataFrame:  # type: ignore[type-arg]
    """One row per job with what people scan; who asked, the stage and the LLM calls are in the
    job's details below. The cost comes from the LLM ledger, which records every attempt."""
    return pd.DataFrame(
        {
            "Job": [f"#{j.job_id}" for j in rows],
            "Status": [j.status.replace("_", " ") for j in rows],
            "Pair": [f"{j.symbol} {j.timeframe}" for j in rows],
            "Kind": [j.kind for j in rows],
            "Started (UTC)": [fmt.when(j.started_at or j.created_at) for j in rows],
            "LLM cost": [fmt.usd(ledgers[j.job_id].cost_usd) for j in rows],
            "Result / error": [
                j.error or (jobs.outcome_line(j) if j.status == "succeeded" else "") for j in rows
            ],
        }
    )


def job_list(rt: Runtime) -> None:
    """Every recent job with live progress; polls while any job is queued or running."""
    any_active = any(jobs.is_active(j) for j in jobs.recent_jobs(rt.ctx, limit=20))

    @st.fragment(run_every=POLL_S if any_active else None)
    def _jobs() -> None:
        rows = jobs.recent_jobs(rt.ctx, limit=50)
        if not rows:
            st.caption("No training jobs yet. Start one above, or open a stale pair on the Chart.")
            return
        active = [j for j in rows if jobs.is_active(j)]
        for job in active:
            cols = st.columns([6, 1], vertical_alignment="center")
            cols[0].progress(
                job.progress,
                text=f"#{job.job_id} {job.kind} {job.symbol} {job.timeframe} · "
                f"{job.stage} · {job.progress:.0%}",
            )
            if (job.status == "running" and not job.cancel_requested) or job.status == "queued":
                may = can(rt.actor, Permission.CANCEL)
                if cols[1].button(
                    "Cancel",
                    key=f"jobs-cancel-{job.job_id}",
                    width="stretch",
                    disabled=not may.allowed,
                    help=may.reason,
                ):
                    cancel_job(rt.ctx, rt.actor, job.job_id)
                    st.rerun(scope="fragment")
            else:
                cols[1].caption("cancelling…")
        st.dataframe(
            _job_frame(rows, jobs.jobs_ledger(rt.ctx, [j.job_id for j in rows])),
            hide_index=True,
            width="stretch",
            key="jobs_table",
            column_config={
                "Job": st.column_config.TextColumn(pinned=True, width="small"),
                "Status": st.column_config.TextColumn(pinned=True),
                "Result / error": st.column_config.TextColumn(
                    help="The full message of any job is under Job details"
                ),
            },
        )
        if not active and any_active:
            st.rerun()  # the last job ended: stop polling

    _jobs()


def spend(rt: Runtime) -> None:
    today = jobs.spend_today(rt.ctx)
    st.metric(
        "LLM spend today (UTC)",
        fmt.usd(today.spent_usd),
        border=True,
        help="Resets at midnight UTC; labeling stops cleanly when the budget is spent",
    )
    st.progress(
        today.share,
        text=f"{today.share:.0%} of the {fmt.usd(today.budget_usd)} daily budget "
        f"· {fmt.usd(today.remaining_usd)} left",
    )


def schedule(rt: Runtime) -> None:
    rows = jobs.schedule(rt.ctx, rt.scheduler_running)
    frame = pd.DataFrame(
        {
            "Task": [r["task"] for r in rows],
            "What": [r["description"] for r in rows],
            "Next run (UTC)": [fmt.when(r["next_run"]) if r["enabled"] else "disabled" for r in rows],
            "Runs in this process": ["yes" if r["running_here"] else "no" for r in rows],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="schedule_table")
    if not rt.scheduler_running:
        st.caption(
            "The scheduler is off in this process (DASHBOARD_SCHEDULER=false); "
            "`python -m core scheduler` runs it on its own."
        )
