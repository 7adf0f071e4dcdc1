"""Roles decide in `authorize`, and every state-changing attempt leaves one audit row.

Real SQLite files (and a real PostgreSQL server for the append-only triggers), real service
calls and the real command line; nothing is mocked.
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.access import audit, roles
from core.access.audit import AuditFilter
from core.context import Context
from core.db import migrate
from core.db.database import Database
from core.errors import ArtifactError, BadInput, Forbidden
from core.jobs.runner import JobRunner
from core.registry.activation import history as activations
from core.registry.versions import list_versions
from core.requests import ActivateRequest, RollbackRequest, TriggerRequest
from core.runtime import make_executor
from core.services import access, models
from core.services.actors import ROLE_PERMISSIONS, Actor, Permission, allowed, authorize
from core.services.runs import trigger_training
from core.views import access as views
from tests import postgres
from tests.conftest import make_settings

VIEWER = Actor("viewer@desk.test", "user", role="viewer")
OPERATOR = Actor("op@desk.test", "user", role="operator")
ADMIN = Actor("ada@desk.test", "user", role="admin")


def _active(ctx: Context) -> list[int]:
    return [v.version_id for v in list_versions(ctx.db, symbol="GOOG", timeframe="1d") if v.is_active]


def _rows(ctx: Context, **flt: object) -> list[audit.AuditRow]:
    return audit.entries(ctx.db, AuditFilter(**flt))  # type: ignore[arg-type]


# --- the permission table ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("actor", "may", "may_not"),
    [
        (VIEWER, {Permission.READ}, {Permission.TRAIN, Permission.ACTIVATE, Permission.IMPORT}),
        (
            OPERATOR,
            {Permission.TRAIN, Permission.CANCEL, Permission.IMPORT, Permission.LABEL},
            {Permission.ACTIVATE, Permission.MANAGE_ACCESS},
        ),
        (ADMIN, set(Permission), set()),
        (Actor.cli(), set(Permission), set()),
        (Actor.system(), set(Permission), set()),
        (Actor.local_user(), set(Permission), set()),
        (Actor("nobody@desk.test", "user", role=None), set(), set(Permission)),
    ],
)
def test_each_role_may_exactly_what_its_row_says(
    actor: Actor, may: set[Permission], may_not: set[Permission]
) -> None:
    assert all(allowed(actor, p) for p in may)
    for permission in may_not:
        with pytest.raises(Forbidden):
            authorize(actor, permission)
    assert ROLE_PERMISSIONS["viewer"] < ROLE_PERMISSIONS["operator"] < ROLE_PERMISSIONS["admin"]


def test_a_refusal_names_the_role_needed() -> None:
    with pytest.raises(
        Forbidden, match=re.escape("viewer@desk.test has the viewer role; activate needs the admin role")
    ):
        authorize(VIEWER, Permission.ACTIVATE)
    permit = views.can(OPERATOR, Permission.ACTIVATE)
    assert not permit.allowed and permit.reason == (
        "Activating and rolling back needs the admin role; your role is operator."
    )
    assert views.can(OPERATOR, Permission.TRAIN).allowed


# --- roles from the database and settings ------------------------------------------------------
def test_roles_come_from_settings_then_rows_then_the_default(ctx: Context) -> None:
    settings = ctx.settings.model_copy(update={"admin_emails": ["boss@desk.test"]})
    resolve = lambda **who: roles.resolve(ctx.db, settings, **who)  # noqa: E731
    assert resolve(email="Boss@Desk.TEST", subject=None) == "admin"
    assert resolve(email="new@desk.test", subject="sub-1") == "viewer"  # the documented default
    roles.grant(ctx.db, "Op@Desk.test", "operator", granted_by="boss@desk.test")
    roles.grant(ctx.db, "sub-2", "admin", granted_by="boss@desk.test")
    assert resolve(email="op@desk.test", subject="whatever") == "operator"
    assert resolve(email=None, subject="sub-2") == "admin"
    closed = settings.model_copy(update={"default_role": "none"})
    assert roles.resolve(ctx.db, closed, email="new@desk.test", subject="sub-1") is None
    assert roles.revoke(ctx.db, "OP@desk.test") and not roles.revoke(ctx.db, "op@desk.test")
    assert resolve(email="op@desk.test", subject=None) == "viewer"
    with pytest.raises(BadInput, match="unknown role"):
        roles.grant(ctx.db, "x@desk.test", "superuser", granted_by="t")
    with pytest.raises(BadInput, match="not an e-mail"):
        roles.grant(ctx.db, "two words", "viewer", granted_by="t")


def test_an_unverified_email_is_not_trusted(ctx: Context) -> None:
    ctx.settings.admin_emails.append("boss@desk.test")
    try:
        trusted = access.signed_in_user(ctx, email="boss@desk.test", subject="s-9")
        forged = access.signed_in_user(ctx, email="boss@desk.test", subject="s-9", email_verified=False)
    finally:
        ctx.settings.admin_emails.remove("boss@desk.test")
    assert trusted == Actor("boss@desk.test", "user", role="admin")
    assert forged == Actor("s-9", "user", role="viewer")  # named and ranked by its subject only
    with pytest.raises(BadInput):
        access.signed_in_user(ctx, email=None, subject=None)


# --- the audit log through the services --------------------------------------------------------
def test_a_viewer_cannot_activate_and_the_refusal_is_audited(desk: Context) -> None:
    with pytest.raises(Forbidden):
        models.activate(desk, VIEWER, ActivateRequest(version_id=2))
    assert _active(desk) == [1]
    (row,) = _rows(desk)
    assert (row.actor, row.actor_kind, row.action, row.target, row.outcome) == (
        "viewer@desk.test",
        "user",
        "activate",
        "xgb_agent v2 of GOOG 1d",  # the version as people name it
        "refused",
    )
    assert "needs the admin role" in (row.reason or "")


def test_an_admin_activates_and_rolls_back_by_name(desk: Context) -> None:
    switched = models.activate(desk, ADMIN, ActivateRequest(version_id=2, reason="better edge"))
    assert switched.previous_active_id == 1 and _active(desk) == [2]
    models.rollback(desk, ADMIN, RollbackRequest(symbol="GOOG", timeframe="1d", bot="xgb_agent"))
    assert _active(desk) == [1]
    history = views.audit_frame(desk, ADMIN, AuditFilter(actor="ada@desk.test"))
    assert list(history["action"]) == ["rollback", "activate"]
    assert set(history["outcome"]) == {"succeeded"}
    assert history["detail"].iloc[1] == {"version_id": 2, "previous_active_id": 1}
    newest = activations(desk.db, "GOOG", "1d", "xgb_agent")[:2]  # the history page shows who
    assert [(a["version_id"], a["actor"]) for a in newest] == [(1, "ada@desk.test"), (2, "ada@desk.test")]


def test_a_failed_call_is_audited_with_its_reason_and_bad_input_writes_nothing(desk: Context) -> None:
    with pytest.raises(BadInput):  # bad input: refused before anything, the store (and log) unchanged
        models.activate(desk, ADMIN, ActivateRequest(version_id=99))
    assert _rows(desk) == []
    v2 = next(v for v in list_versions(desk.db, symbol="GOOG", timeframe="1d") if v.version_id == 2)
    for file in (desk.settings.models_dir / v2.artifact_path).iterdir():
        file.write_bytes(b"tampered")
    with pytest.raises(ArtifactError):
        models.activate(desk, ADMIN, ActivateRequest(version_id=2))
    (row,) = _rows(desk)
    assert (row.target, row.outcome) == ("xgb_agent v2 of GOOG 1d", "failed") and "SHA-256" in (
        row.reason or ""
    ), row
    assert _active(desk) == [1]


def test_the_cli_acts_as_the_os_user_and_is_audited(desk: Context, cli, goog_csv) -> None:  # type: ignore[no-untyped-def]
    assert cli("data", "import", goog_csv, "--symbol", "GOOGX", "--timeframe", "1d", "--json").code == 0
    assert cli("data", "import", "/nonexistent.csv", "--symbol", "X", "--timeframe", "1d").code == 2
    assert cli("activate", "2", "--json").code == 0
    assert cli("roles", "grant", "Op@Desk.test", "operator", "--json").json()["role"] == "operator"
    assert cli("roles", "revoke", "op@desk.test", "--json").json()["removed"] is True
    entries = cli("audit", "--json").json()["entries"]
    done = [(e["action"], e["target"], e["outcome"]) for e in reversed(entries)]
    assert done == [  # the bad import (exit 2) wrote nothing, not even a row here
        ("import", "GOOGX 1d", "succeeded"),
        ("activate", "xgb_agent v2 of GOOG 1d", "succeeded"),
        ("grant_role", "op@desk.test", "succeeded"),
        ("revoke_role", "op@desk.test", "succeeded"),
    ]
    assert {(e["actor"], e["actor_kind"]) for e in entries} == {(Actor.cli().name, "cli")}
    only = cli("audit", "--action", "activate", "--json").json()
    assert only["total"] == 1 and only["entries"][0]["detail"] == {"version_id": 2, "previous_active_id": 1}
    assert cli("audit", "--since", "yesterday").code == 2


def test_a_chart_view_that_starts_nothing_leaves_no_row(desk: Context) -> None:
    runner = JobRunner(desk, make_executor(desk, "background"))
    try:
        with desk.db.session() as session:  # the models are fresh: nothing to do
            session.execute(
                sa.text("UPDATE ai_model_versions SET created_at = :now"), {"now": datetime.now(UTC)}
            )
        result = trigger_training(runner, OPERATOR, TriggerRequest(symbol="GOOG", timeframe="1d"))
        assert not result.started and _rows(desk) == []
        with pytest.raises(Forbidden):
            trigger_training(runner, VIEWER, TriggerRequest(symbol="GOOG", timeframe="1d", force=True))
        assert [r.outcome for r in _rows(desk)] == ["refused"]
    finally:
        runner.shutdown(wait=True)


def test_revoking_a_settings_admin_is_refused(ctx: Context) -> None:
    ctx.settings.admin_emails.append("boss@desk.test")
    try:
        with pytest.raises(BadInput, match="ADMIN_EMAILS"):
            access.revoke_role(ctx, ADMIN, "Boss@desk.test")
    finally:
        ctx.settings.admin_emails.remove("boss@desk.test")
    with pytest.raises(Forbidden):
        access.grant_role(ctx, OPERATOR, "me@desk.test", "admin")
    assert [(r.action, r.outcome) for r in _rows(ctx)] == [("grant_role", "refused")]
    with pytest.raises(Forbidden):
        views.audit_frame(ctx, OPERATOR, AuditFilter())  # reading the log is for admins too


def test_filters_and_a_formula_safe_csv(ctx: Context) -> None:
    base = audit.AuditRecord("eve@desk.test", "user", "label", "failed", "GOOG 1d", '=HYPERLINK("http://x")')
    audit.record(ctx.db, base)
    audit.record(ctx.db, audit.AuditRecord("ops-bot", "token", "train", "succeeded", "GOOG 1d"))
    assert [r.actor for r in _rows(ctx, actor="ops-bot")] == ["ops-bot"]
    assert [r.action for r in _rows(ctx, outcome="failed")] == ["label"]
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert _rows(ctx, since=later) == [] and len(_rows(ctx, until=later)) == 2
    table = list(csv.reader(io.StringIO(views.audit_csv(ctx, ADMIN, AuditFilter()).decode())))
    assert table[0] == list(views.EXPORT_COLUMNS) and len(table) == 3
    assert table[2][7] == '\'=HYPERLINK("http://x")'  # text in a spreadsheet, not a formula


# --- append-only, enforced by the database ---------------------------------------------------
def _assert_append_only(db: Database) -> None:
    audit.record(db, audit.AuditRecord("ada@desk.test", "user", "activate", "succeeded", "version 1"))
    for statement in ("UPDATE audit_log SET outcome = 'refused'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with db.read() as session:
        assert session.execute(sa.text("SELECT outcome FROM audit_log")).scalars().all() == ["succeeded"]


def test_sqlite_refuses_to_change_or_delete_audit_rows(ctx: Context) -> None:
    _assert_append_only(ctx.db)


@pytest.mark.skipif(
    not postgres.available() and not os.environ.get("CANDLELAB_REQUIRE_POSTGRES"),
    reason="no PostgreSQL server binaries on this machine",
)
def test_postgresql_refuses_to_change_delete_or_truncate_audit_rows() -> None:
    with postgres.temporary_server() as url:
        db = Database(url)
        try:
            migrate.upgrade(db)
            _assert_append_only(db)
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE audit_log"))
        finally:
            db.dispose()


def test_settings_read_admin_emails_and_the_default_role(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, admin_emails=" Ada@Desk.test, ,bob@desk.test ", default_role="none")
    assert settings.admin_emails == ["ada@desk.test", "bob@desk.test"]
    assert make_settings(tmp_path).default_role == "viewer"
    with pytest.raises(ValueError):
        make_settings(tmp_path, default_role="admin")  # nobody becomes admin by default
