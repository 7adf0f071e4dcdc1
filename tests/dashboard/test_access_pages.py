"""Sign-in, roles and inert text on the real pages, through AppTest on real SQLite.

`at.secrets` stands for `.streamlit/secrets.toml` and `at.user` for what the OpenID provider
vouched for; the browser test (`test_signin_browser.py`) runs the real provider round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from core.access import audit
from core.context import Context
from core.db.models import Label
from core.jobs import store as job_store
from core.registry.activation import history
from core.registry.versions import list_versions
from core.services.actors import Actor
from core.settings import load_settings
from dashboard import inert
from tests.dashboard.conftest import APP, REPO, texts

GOOG = {"symbol": "GOOG", "tf": "1d"}
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret-for-tests",
    "client_id": "candlelab",
    "client_secret": "s3cret-client-value",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
HOSTILE = (
    "![x](http://127.0.0.1:9/track.png) [click](http://127.0.0.1:9/link) "
    "<img src=http://127.0.0.1:9/html.png> http://127.0.0.1:9/bare"
)


def _ctx() -> Context:
    return Context.create(load_settings(), logs=False)


def _user(email: str, name: str = "Test User") -> dict[str, Any]:
    return {"is_logged_in": True, "email": email, "name": name, "sub": f"sub-{email}"}


def _app(
    page: str | None = None,
    *,
    user: dict[str, Any] | None = None,
    auth: bool = True,
    query: dict | None = None,
) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params = dict(query or GOOG)
    if auth:
        at.secrets["auth"] = AUTH
        at.user = user if user is not None else {"is_logged_in": False}
    if page:
        at.switch_page(f"../pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown(at: AppTest) -> str:
    parts = [
        e.value for kind in ("markdown", "caption", "error", "warning", "info") for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_the_local_default_needs_no_sign_in(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = _app("audit", auth=False)  # the local user is the admin: admin pages open
    assert "Audit log" in texts(at) and "Local admin" in texts(at)
    assert not any(b.label.startswith("Sign") for b in at.button)


def test_signed_out_visitors_see_only_the_sign_in_screen(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = _app("models")
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Models" not in texts(at) and not at.dataframe
    assert "s3cret-client-value" not in texts(at)


def test_a_viewer_reads_but_every_control_that_changes_state_is_disabled(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    ctx = _ctx()
    at = _app("models", user=_user("viewer@desk.test", "Vera Viewer"))
    assert "Vera Viewer" in _markdown(at) and "Role: **viewer**" in _markdown(at)
    at.session_state["versions_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    activate = at.button(key="activate")
    assert activate.disabled and "needs the admin role; your role is viewer" in str(activate.help)
    assert [v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active] == [1]
    chart = _app(user=_user("viewer@desk.test"))
    retrain = next(b for b in chart.button if b.label == "Retrain now")
    assert retrain.disabled and "Training needs the operator role" in str(retrain.help)
    assert job_store.list_jobs(ctx.db) == []  # a viewer's visit to a stale pair starts nothing
    training = _app("training", user=_user("viewer@desk.test"))
    assert next(b for b in training.button if b.label == "Start training").disabled


def test_admin_pages_are_listed_for_admins_and_refused_to_anyone_else(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    at = _app("audit", user=_user("viewer@desk.test"))
    assert "Audit log" not in texts(at)  # not in the viewer's navigation: the URL does not open it
    direct = AppTest.from_file(str(REPO / "pages" / "audit.py"), default_timeout=60)
    direct.session_state["candlelab.access.actor"] = Actor("viewer@desk.test", "user", role="viewer")
    direct.run()
    assert "Not available to you: Managing access needs the admin role" in texts(direct)
    assert not direct.dataframe


def test_an_admin_activates_and_the_audit_page_shows_who(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dashboard_home(trained_template)
    monkeypatch.setenv("ADMIN_EMAILS", "Ada@Desk.test")
    ctx = _ctx()
    at = _app("models", user=_user("ada@desk.test", "Ada Admin"))
    at.session_state["versions_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.button(key="activate").click().run()
    at.button(key="confirm_activate").click().run()
    assert not at.exception
    # Versions are named as people name them, in the toast as everywhere: never by a bare id.
    assert [t.value for t in at.toast] == ["xgb_agent v2 is active (was xgb_agent v1)"]
    assert history(ctx.db, "GOOG", "1d", "xgb_agent")[0]["actor"] == "ada@desk.test"
    shown = next(df.value for df in at.dataframe if "By" in df.value.columns)
    assert shown["By"].iloc[0] == "ada@desk.test"  # the activation history names the admin
    page = _app("audit", user=_user("ada@desk.test"))
    table = page.dataframe[0].value
    assert list(table[["Actor", "Action", "Target", "Outcome"]].iloc[0]) == [
        "ada@desk.test",
        "activate",
        "xgb_agent v2 of GOOG 1d",
        "succeeded",
    ]
    page.selectbox(key="audit_outcome").set_value("refused").run()
    assert "No entries match these filters." in texts(page)


def test_roles_are_granted_and_revoked_on_the_access_page(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dashboard_home(trained_template)
    monkeypatch.setenv("ADMIN_EMAILS", "ada@desk.test")
    ctx = _ctx()
    at = _app("access", user=_user("ada@desk.test"))
    at.text_input(key="grant_principal").input("Op@Desk.test")
    at.selectbox(key="grant_role_choice").set_value("operator")
    at.button[[b.label for b in at.button].index("Grant")].click().run()
    table = next(df.value for df in at.dataframe if "Role" in df.value.columns)  # at once, not next visit
    assert ("op@desk.test", "operator") in set(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True))
    assert [t.value for t in at.toast] == ["` op@desk.test ` is now operator"]
    operator = _app(user=_user("op@desk.test"))
    assert "Role: **operator**" in _markdown(operator)
    at = _app("access", user=_user("ada@desk.test"))
    at.button(key="revoke_role").click().run()
    rows = audit.entries(ctx.db)
    assert [(r.action, r.target, r.outcome) for r in rows[:2]] == [
        ("revoke_role", "op@desk.test", "succeeded"),
        ("grant_role", "op@desk.test", "succeeded"),
    ]
    assert _app(user=_user("op@desk.test")).button(key="sign_out")  # still signed in, now a viewer


def test_nobody_gets_in_without_a_role_when_the_default_is_none(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dashboard_home(trained_template)
    monkeypatch.setenv("DEFAULT_ROLE", "none")
    at = _app("models", user=_user("stranger@else.where"))
    assert "has given you no role yet" in texts(at) and not at.dataframe
    assert [b.label for b in at.button] == ["Sign out"]


def test_an_open_bind_without_sign_in_serves_only_the_refusal(
    dashboard_home: Callable[[Path | None], Path],
) -> None:
    home = dashboard_home(None)
    st_config.set_option("server.address", "0.0.0.0")
    at = _app(auth=False)
    assert "refusing to serve the dashboard on 0.0.0.0 without sign-in" in texts(at)
    assert not (home / "candlelab.db").exists()  # no engine was started, nothing was read or written


def test_misconfigured_sign_in_never_falls_back_to_the_open_mode(
    dashboard_home: Callable[[Path | None], Path],
) -> None:
    home = dashboard_home(None)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {"client_id": "candlelab"}
    at.user = {"is_logged_in": False}
    at.run()
    assert "Sign-in is misconfigured" in texts(at) and "cookie_secret" in texts(at)
    assert not (home / "candlelab.db").exists()  # refused before the engine starts


def test_llm_text_is_shown_as_plain_text_never_markdown(
    dashboard_home: Callable[[Path | None], Path], trained_template: Path
) -> None:
    dashboard_home(trained_template)
    ctx = _ctx()
    with ctx.db.session() as session:
        session.execute(update(Label).values(reasoning=HOSTILE, reject_reason=HOSTILE))
    at = _app("labels", auth=False)
    at.session_state["labels_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert HOSTILE in [t.value for t in at.text]  # st.text: no Markdown, no HTML
    for element in _markdown(at).split("\n"):  # anywhere else it may only appear as a code span
        assert "![x](" not in element or inert.md(HOSTILE) in element
