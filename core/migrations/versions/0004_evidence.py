"""evidence: gate verdicts and per-bot version numbers, deactivations, trade fees, experiments

Revision ID: 0004_evidence
Revises: 0005_llm_ledger
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_evidence"
down_revision: str | None = "0005_llm_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing versions are numbered per (symbol, timeframe, bot) in the order they were created.
BACKFILL_BOT_VERSION = """
UPDATE ai_model_versions SET bot_version = (
    SELECT COUNT(*) FROM ai_model_versions AS earlier
    WHERE earlier.symbol = ai_model_versions.symbol
      AND earlier.timeframe = ai_model_versions.timeframe
      AND earlier.bot = ai_model_versions.bot
      AND earlier.id <= ai_model_versions.id
)
"""


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("labelers", sa.JSON(), nullable=False),
        sa.Column("bots", sa.JSON(), nullable=False),
        sa.Column("label_sets", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("comparisons", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("wall_s", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
    )
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiments_symbol_timeframe"), ["symbol", "timeframe"], unique=False
        )

    op.create_table(
        "experiment_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("labeler", sa.String(length=16), nullable=False),
        sa.Column("bot", sa.String(length=32), nullable=False),
        sa.Column("label_set_id", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_results_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["label_set_id"],
            ["label_sets.id"],
            name=op.f("fk_experiment_results_label_set_id_label_sets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_results")),
        sa.UniqueConstraint(
            "experiment_id", "labeler", "bot", name=op.f("uq_experiment_results_experiment_id_labeler_bot")
        ),
    )
    with op.batch_alter_table("experiment_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_results_experiment_id"), ["experiment_id"], unique=False
        )

    with op.batch_alter_table("ai_model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("gate_verdict", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("gate_reason", sa.Text(), nullable=True))
    op.execute(BACKFILL_BOT_VERSION)
    with op.batch_alter_table("ai_model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ai_model_versions_gate_verdict"), ["gate_verdict"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_ai_model_versions_symbol_timeframe_bot_bot_version"),
            ["symbol", "timeframe", "bot", "bot_version"],
        )

    with op.batch_alter_table("ai_training_samples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fees", sa.Float(), nullable=True))

    with op.batch_alter_table("model_activations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("action", sa.String(length=16), server_default="activate", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("model_activations", schema=None) as batch_op:
        batch_op.drop_column("action")

    with op.batch_alter_table("ai_training_samples", schema=None) as batch_op:
        batch_op.drop_column("fees")

    with op.batch_alter_table("ai_model_versions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_ai_model_versions_symbol_timeframe_bot_bot_version"), type_="unique"
        )
        batch_op.drop_index(batch_op.f("ix_ai_model_versions_gate_verdict"))
        batch_op.drop_column("gate_reason")
        batch_op.drop_column("gate_verdict")
        batch_op.drop_column("bot_version")

    with op.batch_alter_table("experiment_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_results_experiment_id"))
    op.drop_table("experiment_results")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiments_symbol_timeframe"))
    op.drop_table("experiments")
