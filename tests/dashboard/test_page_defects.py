"""Pages that act on the analyst's last step: a grant, a labeling run or a training just started
shows at once; versions are named as people name them, times as people read them.

Through AppTest on real SQLite, with real jobs in the runtime's worker processes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from core.context import Context
from core.jobs import store as job_store
from core.settings import load_settings
from tests.dashboard.conftest import open_app, texts
from tests.support.servers import wait_until

GOOG = {"symbol": "GOOG", "tf": "1d"}


def _ctx() -> Context:
    return Context.create(load_settings(), logs=False)


def _ended(ctx: Context, count: int, timeout: float = 120) -> list[job_store.JobView]:
    """The newest `count` jobs, once every job has ended."""

    def done() -> list[job_store.JobView] | None:
        jobs = job_store.list_jobs(ctx.db)
        ended = len(jobs) >= count and all(j.status not in job_store.ACTIVE_STATUSES for j in jobs)
        return jobs if ended else None

    return wait_until(done, timeout=timeout, interval=0.2, message=lambda: str(job_store.list_jobs(ctx.db)))


def test_a_grant_shows_in_the_access_table_at_once(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("access", GOOG)  # the local user is the admin
    at.text_input(key="grant_principal").input("op@desk.test")
    at.selectbox(key="grant_role_choice").set_value("operator")
    at.button[[b.label for b in at.button].index("Grant")].click().run()
    assert not at.exception
    roles = next(df.value for df in at.dataframe if "Role" in df.value.columns)
    assert roles.set_index("User (e-mail or subject)").loc["op@desk.test", "Role"] == "operator"
    assert [t.value for t in at.toast] == ["` op@desk.test ` is now operator"]


def test_training_job_details_follow_the_job_just_started(
    dashboard_home: Callable[[Path | None], Path], goog_template: Path
) -> None:
    dashboard_home(goog_template)
    at = open_app("training", GOOG)
    at.number_input(key="train_lookback").set_value(3000)
    at.number_input(key="train_samples").set_value(20)
    at.toggle(key="train_use").set_value(False).run()  # labeling only: two quick jobs
    at.button[0].click().run()
    first = _ended(_ctx(), 1)[0]
    at.run()
    assert at.selectbox(key="job_detail").value == first.job_id
    at.button[0].click().run()
    second = _ended(_ctx(), 2)[0]
    assert second.job_id != first.job_id
    assert at.selectbox(key="job_detail").value == second.job_id
    at.run()
    assert at.selectbox(key="job_detail").value == second.job_id
    assert f"label set {second.label_set_id}" in texts(at)


def test_versions_are_named_in_toasts_history_and_audit(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("models", GOOG)
    at.session_state["versions_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.button(key="activate").click().run()
    at.button(key="confirm_activate").click().run()
    assert [t.value for t in at.toast] == ["xgb_agent v2 is active (was xgb_agent v1)"]
    at.button(key="rollback-xgb_agent").click().run()
    at.button(key="confirm_rollback").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == ["xgb_agent: rolled back to xgb_agent v1"]
    history = next(df.value for df in at.dataframe if "Replaced" in df.value.columns)
    assert "Why" not in history.columns  # a sentence: in the row's panel, never a clipped column
    assert list(history[["Action", "Version", "Replaced"]].iloc[0]) == [
        "rollback",
        "xgb_agent v1",
        "xgb_agent v2",
    ]
    at.session_state["activation_history"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert "rollback from xgb_agent v2" in [t.value for t in at.text]
    audit = open_app("audit", GOOG).dataframe[0].value
    assert list(audit["Target"].iloc[:2]) == ["xgb_agent GOOG 1d", "xgb_agent v2 of GOOG 1d"]
    page = (
        texts(at)
        + " ".join(t.value for t in at.text)
        + " ".join(history.astype(str).stack())
        + " ".join(audit.astype(str).stack())
    )
    assert "version 1" not in page and "version 2" not in page and "#1" not in page and "#2" not in page


def test_compared_versions_show_human_times_not_iso_strings(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = open_app("models", GOOG)
    at.session_state["versions_table"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    names = {"created at", "created_at"}
    lineage = next(df.value for df in at.dataframe if names & set(df.value.index))
    created = lineage.loc[lineage.index.isin(names)].iloc[0].tolist()
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", c) for c in created), created
    cells = " ".join(lineage.astype(str).stack())
    assert not re.search(r"\d{2}:\d{2}:\d{2}", cells), cells  # no seconds, microseconds or offsets
    at.session_state["versions_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()  # one version's panel says when it was made, and how long ago
    assert re.search(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(\d+(\.\d)? (s|min|h|d) ago\)",
        texts(at) + " ".join(str(t.value) for t in at.text),
    )
