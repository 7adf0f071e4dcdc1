"""Why the pair's last automatic training failed, where the analyst looks: on the chart, with the
full message one click away, and whether it will be tried again on its own."""

from __future__ import annotations

import streamlit as st

from core.views.jobs import automatic_failure
from dashboard import formatting as fmt
from dashboard.runtime import Runtime
from dashboard.state import Selection


def automatic_failure_notice(rt: Runtime, sel: Selection) -> bool:
    """Show the failure (True) or nothing (False, when the last automatic job did not fail)."""
    failure = automatic_failure(rt.ctx, sel.symbol, sel.timeframe)
    if failure is None:
        return False
    job = failure.job
    when = fmt.ago(job.finished_at or job.created_at)
    st.error(
        f"The last automatic training (job {job.job_id}, {when}) "
        f"{job.status.replace('_', ' ')}. {failure.next_step}",
        icon=":material/error:",
    )
    with st.expander("Why it failed: the full message", icon=":material/article:"):
        st.code(job.error or "no message recorded", language=None, wrap_lines=True)
    return True
