"""The training progress widget: a fragment that polls the job row and redraws only itself.

While a job of the pair runs, the fragment reruns every `POLL_ACTIVE_S` seconds and sends just a
progress bar; the chart around it is not re-sent. A job this session started says there why it
started (`announce`): not a toast, which Streamlit draws over the header's buttons. When the
watched job ends it leaves a toast for the next run and reruns the app once, so the overlay picks
up the new model. When idle it checks every `POLL_IDLE_S` seconds for jobs started elsewhere (the
scheduler, another analyst).
"""

from __future__ import annotations

import streamlit as st

from core.services.actors import Permission
from core.services.runs import cancel_job
from core.views import jobs
from core.views.access import can
from core.views.jobs import JobView
from dashboard import formatting as fmt
from dashboard import inert, session
from dashboard.runtime import Runtime
from dashboard.state import Selection

POLL_ACTIVE_S = 1.0
POLL_IDLE_S = 20.0


def watch(sel: Selection, job_id: int) -> None:
    session.watch_key(sel.symbol, sel.timeframe).set(job_id)


def announce(sel: Selection, job_id: int, why: str) -> None:
    """Watch a job this session just started; its progress line says it started, and `why`."""
    watch(sel, job_id)
    session.started_key(sel.symbol, sel.timeframe).set((job_id, why))


def show_pending_toast() -> None:
    """Toasts queued by a fragment just before it reran the app."""
    pending = session.PENDING_TOAST.pop()
    if pending:
        text, icon = pending
        st.toast(text, icon=icon, duration="long")


def _render_active(rt: Runtime, job: JobView, why: str | None) -> None:
    label = f"{job.kind.capitalize()} training"
    if why is not None:
        label += f" (job {job.job_id}) started {why}"
    cols = st.columns([5, 1], vertical_alignment="center")
    cols[0].progress(min(max(job.progress, 0.0), 1.0), text=f"{label} · {job.stage} · {job.progress:.0%}")
    if job.status == "running" and not job.cancel_requested:
        may = can(rt.actor, Permission.CANCEL)
        if cols[1].button(
            "Cancel", key=f"cancel-{job.job_id}", width="stretch", disabled=not may.allowed, help=may.reason
        ):
            cancel_job(rt.ctx, rt.actor, job.job_id)
            st.rerun(scope="fragment")
    elif job.cancel_requested:
        cols[1].caption("cancelling…")


def _render_idle(rt: Runtime, job: JobView | None) -> None:
    if job is None:  # the header's badge already says whether the pair has a model, and how old
        return
    status = job.status.replace("_", " ")
    when = fmt.ago(job.finished_at or job.created_at)
    spent = jobs.job_ledger(rt.ctx, job.job_id)
    text = (
        f"Last training: job {job.job_id} ({job.kind}) {status} {when} · "
        f"{fmt.count(spent.calls)} LLM calls, {fmt.usd(spent.cost_usd)}"
    )
    if job.error and job.status != "succeeded":
        text += " · its full message is on the Training page"  # it may quote an LLM reply: not here
    st.caption(text)


def training_status(rt: Runtime, sel: Selection) -> None:
    """Render the pair's training status; polls fast while a job runs, slowly otherwise."""
    key = session.watch_key(sel.symbol, sel.timeframe)
    started = session.started_key(sel.symbol, sel.timeframe)
    current = jobs.pair_job(rt.ctx, sel.symbol, sel.timeframe)
    if current is not None and current.active and not key.present():
        key.set(current.job_id)
    interval = POLL_ACTIVE_S if key.present() else POLL_IDLE_S

    @st.fragment(run_every=interval)
    def _status() -> None:
        job = jobs.pair_job(rt.ctx, sel.symbol, sel.timeframe)
        watched = key.get()
        if job is not None and job.active:
            if watched is None:  # started elsewhere: switch to fast polling
                key.set(job.job_id)
                st.rerun()
            ours = started.get()
            _render_active(rt, job, ours[1] if ours is not None and ours[0] == job.job_id else None)
            return
        if watched is not None:
            key.pop()
            started.pop()
            ended = jobs.get_job(rt.ctx, int(watched))
            icon = ":material/check_circle:" if ended.status == "succeeded" else ":material/error:"
            line = jobs.outcome_line(ended)
            session.PENDING_TOAST.set((line if ended.status == "succeeded" else inert.md(line), icon))
            st.rerun()
        _render_idle(rt, job)

    _status()
