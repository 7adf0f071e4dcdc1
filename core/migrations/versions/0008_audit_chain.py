"""audit chain: every audit row hashed to the one before it, and no replacing of rows

Revision ID: 0008_audit_chain
Revises: 0007_api
Create Date: 2026-12-07

Each `audit_log` row gets `prev_hash` and `row_hash` (core.db.audit_chain), the rows already
there are chained in id order, and `audit_log_head` records where the chain ends. On SQLite an
`INSERT OR REPLACE`, `REPLACE INTO` or upsert of an existing id deletes the old row without firing
the DELETE trigger, so a BEFORE INSERT trigger now refuses any insert of an id already present
(as PostgreSQL's triggers already refuse the UPDATE of its upsert). The only UPDATE allowed is
the growth of a row's repeat count (identical refusals within a minute).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db.audit_chain import GENESIS, HEAD_ID, link_hash, tally_hash
from core.db.types import UTCDateTime

revision: str = "0008_audit_chain"
down_revision: str | None = "0007_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_log is append-only"
FIXED = ("created_at", "actor", "actor_kind", "action", "target", "outcome", "reason", "prev_hash", "row_hash")

SQLITE_OLD = [
    f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""
    for verb in ("UPDATE", "DELETE")
]
_SAME_SQLITE = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in (*FIXED, "detail"))
SQLITE_NEW = [
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    WHEN NOT (NEW.id = OLD.id AND {_SAME_SQLITE} AND NEW.repeats > OLD.repeats)
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
    WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: row ids are never reused or replaced'); END""",
    f"""CREATE TRIGGER audit_log_head_no_delete BEFORE DELETE ON audit_log_head
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_log_head_forward BEFORE UPDATE ON audit_log_head
    WHEN NOT (NEW.id = OLD.id AND NEW.last_id > OLD.last_id AND NEW.rows > OLD.rows)
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
SQLITE_NEW_NAMES = (
    "audit_log_no_delete",
    "audit_log_no_update",
    "audit_log_no_replace",
    "audit_log_head_no_delete",
    "audit_log_head_forward",
)

_SAME_PG = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in FIXED)
POSTGRES_NEW = [
    f"""CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND {_SAME_PG}
           AND NEW.detail::text IS NOT DISTINCT FROM OLD.detail::text AND NEW.repeats > OLD.repeats THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{APPEND_ONLY}';
    END $$""",
    f"""CREATE FUNCTION audit_log_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_id > OLD.last_id AND NEW.rows > OLD.rows THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{APPEND_ONLY}';
    END $$""",
    """CREATE TRIGGER audit_log_head_no_change BEFORE UPDATE OR DELETE ON audit_log_head
    FOR EACH ROW EXECUTE FUNCTION audit_log_head_forward()""",
    """CREATE TRIGGER audit_log_head_no_truncate BEFORE TRUNCATE ON audit_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_head_forward()""",
]
POSTGRES_OLD_FUNCTION = f"""CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"""

_rows = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("actor_kind", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("detail", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
    sa.column("tally_hash", sa.String()),
)
_head = sa.table(
    "audit_log_head",
    sa.column("id", sa.Integer()),
    sa.column("last_id", sa.Integer()),
    sa.column("last_hash", sa.String()),
    sa.column("rows", sa.Integer()),
)


def _chain_existing_rows(conn: sa.Connection) -> None:
    prev, last_id, count = GENESIS, 0, 0
    rows = conn.execute(sa.select(_rows).order_by(_rows.c.id)).mappings().all()
    for row in rows:
        row_hash = link_hash(prev, dict(row))
        conn.execute(
            _rows.update()
            .where(_rows.c.id == row["id"])
            .values(prev_hash=prev, row_hash=row_hash, tally_hash=tally_hash(row_hash, 1, None))
        )
        prev, last_id, count = row_hash, row["id"], count + 1
    if count:  # an empty log has no head yet: the first append writes it (and `db copy` copies it)
        conn.execute(_head.insert().values(id=HEAD_ID, last_id=last_id, last_hash=prev, rows=count))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("repeats", sa.Integer(), server_default="1", nullable=False))
    op.add_column("audit_log", sa.Column("last_at", sa.DateTime(), nullable=True))
    op.add_column("audit_log", sa.Column("tally_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_head")),
    )
    _chain_existing_rows(op.get_bind())
    if dialect == "sqlite":
        for statement in SQLITE_NEW:
            op.execute(statement)
    else:
        for statement in POSTGRES_NEW:
            op.execute(statement)
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_NEW_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_head_no_change ON audit_log_head")
        op.execute("DROP TRIGGER IF EXISTS audit_log_head_no_truncate ON audit_log_head")
        op.execute("DROP FUNCTION IF EXISTS audit_log_head_forward()")
        op.execute(POSTGRES_OLD_FUNCTION)
    op.drop_table("audit_log_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for column in ("tally_hash", "last_at", "repeats", "row_hash", "prev_hash"):
            batch_op.drop_column(column)
    if dialect == "sqlite":
        for statement in SQLITE_OLD:
            op.execute(statement)
