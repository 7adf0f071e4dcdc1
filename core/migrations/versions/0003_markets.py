"""every stored series is a market: its provider, imported file and price precision

Revision ID: 0003_markets
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_markets"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Series stored before providers were recorded: their producer follows from the bars' source.
_PROVIDER_OF_SOURCE = {"csv": "csv", "offline": "offline", "synthetic": "offline", "yfinance": "yfinance"}


def upgrade() -> None:
    with op.batch_alter_table("bar_series") as batch:
        batch.add_column(sa.Column("provider", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("file_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("import_format", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("price_decimals", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tick_size", sa.Float(), nullable=True))
    series = sa.table("bar_series", sa.column("source", sa.String), sa.column("provider", sa.String))
    for source, provider in _PROVIDER_OF_SOURCE.items():
        op.execute(series.update().where(series.c.source == source).values(provider=provider))


def downgrade() -> None:
    with op.batch_alter_table("bar_series") as batch:
        for name in ("tick_size", "price_decimals", "import_format", "file_name", "provider"):
            batch.drop_column(name)
