"""The audit log proves itself: hash-chained rows, no replacing on SQLite, `audit verify`, bursts counted.

Real SQLite files: the tamperer has the file and a SQL shell, drops the triggers and edits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.access import audit
from core.access.audit import AuditRecord
from core.context import Context
from core.db import transfer
from core.db.database import Database, forget_database
from core.errors import Forbidden
from core.requests import ActivateRequest
from core.services import models as model_service
from core.services.actors import Actor
from tests.conftest import make_settings


def _fill(ctx: Context, n: int = 5) -> list[int]:
    return [
        audit.record(
            ctx.db,
            AuditRecord(
                actor=f"user{i}", actor_kind="cli", action="grant", outcome="succeeded", detail={"n": i}
            ),
        )
        for i in range(n)
    ]


def _tamper(db: Database, *statements: str) -> None:
    """What someone with the file can do: drop the guards, then change the table directly."""
    with db.engine.begin() as conn:
        for name in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_an_intact_log_verifies_and_the_cli_exits_0(ctx: Context, cli) -> None:  # type: ignore[no-untyped-def]
    ids = _fill(ctx)
    assert ids == [1, 2, 3, 4, 5]
    report = audit.verify_chain(ctx.db)
    assert report.intact and report.rows == 5
    run = cli("audit", "verify", "--json")
    expected = {"intact": True, "rows": 5, "broken_at": None, "problem": None}
    assert run.code == 0 and json.loads(run.out) == expected


def test_sqlite_refuses_insert_or_replace_replace_into_and_upserts(ctx: Context) -> None:
    _fill(ctx, 2)
    statements = [
        "INSERT OR REPLACE INTO audit_log (id, created_at, actor, actor_kind, action, outcome, detail) "
        "VALUES (1, '2026-01-01 00:00:00', 'mallory', 'cli', 'grant', 'succeeded', '{}')",
        "REPLACE INTO audit_log (id, created_at, actor, actor_kind, action, outcome, detail) "
        "VALUES (2, '2026-01-01 00:00:00', 'mallory', 'cli', 'grant', 'succeeded', '{}')",
        "INSERT INTO audit_log (id, created_at, actor, actor_kind, action, outcome, detail) "
        "VALUES (1, '2026-01-01 00:00:00', 'mallory', 'cli', 'grant', 'succeeded', '{}') "
        "ON CONFLICT(id) DO UPDATE SET actor = 'mallory'",
        "UPDATE audit_log SET actor = 'mallory' WHERE id = 1",
        "UPDATE audit_log SET repeats = 0 WHERE id = 1",  # a count may only grow
        "DELETE FROM audit_log WHERE id = 2",
        "DELETE FROM audit_log_head",
        "UPDATE audit_log_head SET last_id = 1, rows = 1",
    ]
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), ctx.db.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with ctx.db.read() as session:
        actors = list(session.scalars(sa.text("SELECT actor FROM audit_log ORDER BY id")))
    assert actors == ["user0", "user1"] and audit.verify_chain(ctx.db).intact


@pytest.mark.parametrize(
    ("statements", "broken_at", "says"),
    [
        (["UPDATE audit_log SET actor = 'mallory' WHERE id = 3"], 3, "changed"),
        (["UPDATE audit_log SET detail = '{\"n\": 9}' WHERE id = 2"], 2, "changed"),
        (["DELETE FROM audit_log WHERE id = 3"], 4, "deleted, inserted or moved"),
        (["DELETE FROM audit_log WHERE id = 5"], 4, "removed from or added at its end"),
        (  # two rows swap places (their contents trade ids)
            [
                "UPDATE audit_log SET id = 100 WHERE id = 2",
                "UPDATE audit_log SET id = 2 WHERE id = 3",
                "UPDATE audit_log SET id = 3 WHERE id = 100",
            ],
            2,
            "deleted, inserted or moved",
        ),
        (  # a forged row slipped in between, hashed as its author saw fit
            [
                "UPDATE audit_log SET id = id + 10 WHERE id >= 3",
                "INSERT INTO audit_log (id, created_at, actor, actor_kind, action, outcome, detail,"
                " prev_hash, row_hash, repeats) SELECT 3, created_at, 'mallory', 'cli', 'grant',"
                " 'succeeded', '{}', row_hash, row_hash, 1 FROM audit_log WHERE id = 2",
            ],
            3,
            "changed",
        ),
        (["UPDATE audit_log SET repeats = 7 WHERE id = 1"], 1, "repeat count"),
    ],
)
def test_verify_names_the_first_broken_link_even_after_drop_trigger(
    ctx: Context,
    cli,  # type: ignore[no-untyped-def]
    statements: list[str],
    broken_at: int,
    says: str,
) -> None:
    _fill(ctx)
    _tamper(ctx.db, *statements)
    report = audit.verify_chain(ctx.db)
    assert not report.intact and report.broken_at == broken_at and says in (report.problem or ""), report
    run = cli("audit", "verify")
    assert run.code == 1 and f"broken at row {broken_at}" in run.out


def test_repeated_identical_refusals_count_on_one_row(desk: Context) -> None:
    viewer = Actor("viewer@desk.test", "user", role="viewer")
    before = audit.count(desk.db)
    for _ in range(100):
        with pytest.raises(Forbidden):
            model_service.activate(desk, viewer, ActivateRequest(version_id=2))
    rows = audit.entries(desk.db, limit=5)
    assert audit.count(desk.db) == before + 1
    assert rows[0].outcome == "refused" and rows[0].repeats == 100 and rows[0].last_at is not None
    # Another refusal (another target) is its own row; the chain stays intact throughout.
    with pytest.raises(Forbidden):
        model_service.activate(desk, viewer, ActivateRequest(version_id=1))
    assert audit.count(desk.db) == before + 2 and audit.verify_chain(desk.db).intact


def test_a_no_op_activation_is_not_recorded_as_a_change(desk: Context) -> None:
    admin = Actor.cli()
    before = audit.count(desk.db)
    switched = model_service.activate(desk, admin, ActivateRequest(version_id=2))
    assert switched.changed and audit.count(desk.db) == before + 1
    again = model_service.activate(desk, admin, ActivateRequest(version_id=2))
    assert not again.changed and audit.count(desk.db) == before + 1


def test_db_copy_carries_the_chain_and_refuses_a_broken_one(ctx: Context, tmp_path: Path) -> None:
    _fill(ctx)
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    result = transfer.copy_database(ctx.db, Database(target_url))
    assert result.verified and result.tables["audit_log"] == 5
    copied = Database(target_url)
    report = audit.verify_chain(copied)
    assert report.intact and report.rows == 5
    copied.dispose()
    forget_database(target_url)

    _tamper(ctx.db, "UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2")
    other = f"sqlite:///{tmp_path / 'copy2.db'}"
    with pytest.raises(transfer.CopyNotVerified, match="audit log is broken"):
        transfer.copy_database(ctx.db, Database(other))


def test_the_chain_survives_migration_of_rows_written_before_it(tmp_path: Path) -> None:
    from core.db import migrate

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(db, "0007_api")
    with db.engine.begin() as conn:
        for i in range(3):
            conn.exec_driver_sql(
                "INSERT INTO audit_log (created_at, actor, actor_kind, action, outcome, detail) "
                f"VALUES ('2026-01-0{i + 1} 10:00:00.000000', 'old{i}', 'cli', 'grant', 'succeeded', '{{}}')"
            )
    migrate.upgrade(db)
    assert audit.verify_chain(db).intact
    ctx = Context(make_settings(tmp_path, database_url=db.url))
    assert audit.record(ctx.db, AuditRecord("new", "cli", "grant", "succeeded")) == 4
    assert audit.verify_chain(db).rows == 4 and audit.verify_chain(db).intact
    db.dispose()
