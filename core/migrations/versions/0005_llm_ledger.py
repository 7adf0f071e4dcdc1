"""llm ledger: reservations, reply size and completion time on every request row

Revision ID: 0005_llm_ledger
Revises: 0003_markets
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_llm_ledger"
down_revision: str | None = "0003_markets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_usd", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reply_bytes", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_llm_calls_expires_at"), ["expires_at"], unique=False)
    # Rows written before this revision were recorded once their request had ended.
    op.execute("UPDATE llm_calls SET finished_at = created_at WHERE finished_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_calls_expires_at"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("reply_bytes")
        batch_op.drop_column("reserved_usd")
