"""service API: bearer tokens, and the client order id of executed signals

Revision ID: 0007_api
Revises: 0006_access
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_api'
down_revision: str | None = '0006_access'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('active_name', sa.String(length=32), nullable=True),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('active_name', name=op.f('uq_api_tokens_active_name')),
    sa.UniqueConstraint('secret_sha256', name=op.f('uq_api_tokens_secret_sha256'))
    )
    # A unique index, not a constraint: SQLite adds it without rebuilding the table.
    op.add_column('ai_training_samples', sa.Column('order_id', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_ai_training_samples_order_id'), 'ai_training_samples', ['order_id'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_ai_training_samples_order_id'), table_name='ai_training_samples')
    with op.batch_alter_table('ai_training_samples', schema=None) as batch_op:
        batch_op.drop_column('order_id')
    op.drop_table('api_tokens')
