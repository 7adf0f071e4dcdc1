"""llm firewall and batches: knowledge cutoff per label, invalid replies, provider batches, recall probes

Revision ID: 0009_llm_firewall
Revises: 0008_audit_chain
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_llm_firewall"
down_revision: str | None = "0008_audit_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "llm_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label_set_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("remote_id", sa.String(length=128), nullable=True),
        sa.Column("input_file_id", sa.String(length=128), nullable=True),
        sa.Column("output_file_id", sa.String(length=128), nullable=True),
        sa.Column("error_file_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["label_set_id"],
            ["label_sets.id"],
            name=op.f("fk_llm_batches_label_set_id_label_sets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_batches")),
    )
    with op.batch_alter_table("llm_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llm_batches_label_set_id"), ["label_set_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_llm_batches_request_key"), ["request_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_llm_batches_status"), ["status"], unique=False)

    op.create_table(
        "llm_probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("knowledge_cutoff", sa.Date(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_probes")),
    )
    with op.batch_alter_table("llm_probes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llm_probes_created_at"), ["created_at"], unique=False)

    with op.batch_alter_table("label_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("knowledge_cutoff", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("invalid_replies", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("knowledge_cutoff", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pre_cutoff", sa.Boolean(), nullable=True))
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_valid", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_llm_calls_batch_id"), ["batch_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_llm_calls_batch_id_llm_batches"),
            "llm_batches",
            ["batch_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_llm_calls_batch_id_llm_batches"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_llm_calls_batch_id"))
        batch_op.drop_column("batch_id")
        batch_op.drop_column("reply_valid")
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_column("pre_cutoff")
        batch_op.drop_column("knowledge_cutoff")
    with op.batch_alter_table("label_sets", schema=None) as batch_op:
        batch_op.drop_column("invalid_replies")
        batch_op.drop_column("knowledge_cutoff")
    with op.batch_alter_table("llm_probes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_probes_created_at"))
    op.drop_table("llm_probes")
    with op.batch_alter_table("llm_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_batches_status"))
        batch_op.drop_index(batch_op.f("ix_llm_batches_request_key"))
        batch_op.drop_index(batch_op.f("ix_llm_batches_label_set_id"))
    op.drop_table("llm_batches")
