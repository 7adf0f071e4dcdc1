"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bar_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('is_synthetic', sa.Boolean(), nullable=False),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('last_fetched_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bar_series')),
    sa.UniqueConstraint('symbol', 'timeframe', name=op.f('uq_bar_series_symbol_timeframe'))
    )
    op.create_table('bars',
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('open', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('close', sa.Float(), nullable=False),
    sa.Column('volume', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'timeframe', 'ts', name=op.f('pk_bars'))
    )
    op.create_table('label_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('labeler', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=True),
    sa.Column('prompt_version', sa.String(length=32), nullable=True),
    sa.Column('sampling', sa.String(length=16), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('lookback_days', sa.Integer(), nullable=True),
    sa.Column('requested', sa.Integer(), nullable=False),
    sa.Column('labeled', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('api_calls', sa.Integer(), nullable=False),
    sa.Column('cache_hits', sa.Integer(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('wall_s', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=True),
    sa.Column('data_start', sa.DateTime(), nullable=True),
    sa.Column('data_end', sa.DateTime(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_sets'))
    )
    with op.batch_alter_table('label_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_sets_symbol_timeframe'), ['symbol', 'timeframe'], unique=False)

    op.create_table('llm_response_cache',
    sa.Column('cache_key', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('response_text', sa.Text(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('cache_key', name=op.f('pk_llm_response_cache'))
    )
    op.create_table('scheduled_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_runs')),
    sa.UniqueConstraint('name', 'slot', name=op.f('uq_scheduled_runs_name_slot'))
    )
    op.create_table('training_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('active_slot', sa.String(length=64), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('requested_by', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=128), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('llm_calls', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_jobs')),
    sa.UniqueConstraint('active_slot', name=op.f('uq_training_jobs_active_slot'))
    )
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_jobs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_jobs_symbol_timeframe'), ['symbol', 'timeframe'], unique=False)

    op.create_table('ai_model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot', sa.String(length=32), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('active_slot', sa.String(length=80), nullable=True),
    sa.Column('training_type', sa.String(length=16), nullable=False),
    sa.Column('artifact_path', sa.String(length=500), nullable=True),
    sa.Column('artifact_sha256', sa.String(length=64), nullable=True),
    sa.Column('artifact_bytes', sa.Integer(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('lineage', sa.JSON(), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=True),
    sa.Column('training_record_id', sa.Integer(), nullable=True),
    sa.Column('broken_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['label_set_id'], ['label_sets.id'], name=op.f('fk_ai_model_versions_label_set_id_label_sets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_model_versions')),
    sa.UniqueConstraint('active_slot', name=op.f('uq_ai_model_versions_active_slot'))
    )
    with op.batch_alter_table('ai_model_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_model_versions_symbol_timeframe_bot'), ['symbol', 'timeframe', 'bot'], unique=False)

    op.create_table('llm_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('cache_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['label_set_id'], ['label_sets.id'], name=op.f('fk_llm_calls_label_set_id_label_sets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_llm_calls'))
    )
    with op.batch_alter_table('llm_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_llm_calls_cache_key'), ['cache_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_llm_calls_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_llm_calls_label_set_id'), ['label_set_id'], unique=False)

    op.create_table('model_training_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('bot', sa.String(length=32), nullable=False),
    sa.Column('training_type', sa.String(length=16), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('samples_used', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('wall_s', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['training_jobs.id'], name=op.f('fk_model_training_records_job_id_training_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['label_set_id'], ['label_sets.id'], name=op.f('fk_model_training_records_label_set_id_label_sets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_training_records'))
    )
    with op.batch_alter_table('model_training_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_training_records_symbol_timeframe_bot'), ['symbol', 'timeframe', 'bot'], unique=False)

    op.create_table('ai_training_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('bot', sa.String(length=32), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('predicted_at', sa.DateTime(), nullable=False),
    sa.Column('recommendation', sa.String(length=8), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('entry_price', sa.Float(), nullable=False),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('stop_loss', sa.Float(), nullable=True),
    sa.Column('predicted_return', sa.Float(), nullable=True),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('exit_price', sa.Float(), nullable=True),
    sa.Column('exit_time', sa.DateTime(), nullable=True),
    sa.Column('exit_reason', sa.String(length=16), nullable=True),
    sa.Column('pnl', sa.Float(), nullable=True),
    sa.Column('pnl_pct', sa.Float(), nullable=True),
    sa.Column('prediction_correct', sa.Boolean(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['ai_model_versions.id'], name=op.f('fk_ai_training_samples_version_id_ai_model_versions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_training_samples')),
    sa.UniqueConstraint('version_id', 'predicted_at', 'source', name=op.f('uq_ai_training_samples_version_id_predicted_at_source'))
    )
    with op.batch_alter_table('ai_training_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_training_samples_symbol_timeframe_bot_status'), ['symbol', 'timeframe', 'bot', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_training_samples_version_id'), ['version_id'], unique=False)

    op.create_table('labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_set_id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('current_price', sa.Float(), nullable=False),
    sa.Column('target', sa.Float(), nullable=True),
    sa.Column('stop_loss', sa.Float(), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('recommendation', sa.String(length=8), nullable=True),
    sa.Column('bias', sa.String(length=8), nullable=True),
    sa.Column('news_sentiment', sa.Float(), nullable=True),
    sa.Column('horizon_bars', sa.Integer(), nullable=True),
    sa.Column('reasoning', sa.Text(), nullable=True),
    sa.Column('raw_reply', sa.Text(), nullable=True),
    sa.Column('context', sa.JSON(), nullable=True),
    sa.Column('llm_call_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outcome_return', sa.Float(), nullable=True),
    sa.Column('outcome_bars', sa.Integer(), nullable=True),
    sa.Column('scored_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['label_set_id'], ['label_sets.id'], name=op.f('fk_labels_label_set_id_label_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['llm_call_id'], ['llm_calls.id'], name=op.f('fk_labels_llm_call_id_llm_calls'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    sa.UniqueConstraint('label_set_id', 'ts', name=op.f('uq_labels_label_set_id_ts'))
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labels_label_set_id'), ['label_set_id'], unique=False)

    op.create_table('model_activations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('bot', sa.String(length=32), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('previous_version_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['ai_model_versions.id'], name=op.f('fk_model_activations_version_id_ai_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_activations'))
    )
    with op.batch_alter_table('model_activations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_activations_symbol_timeframe_bot'), ['symbol', 'timeframe', 'bot'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('model_activations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_activations_symbol_timeframe_bot'))

    op.drop_table('model_activations')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labels_label_set_id'))

    op.drop_table('labels')
    with op.batch_alter_table('ai_training_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_training_samples_version_id'))
        batch_op.drop_index(batch_op.f('ix_ai_training_samples_symbol_timeframe_bot_status'))

    op.drop_table('ai_training_samples')
    with op.batch_alter_table('model_training_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_training_records_symbol_timeframe_bot'))

    op.drop_table('model_training_records')
    with op.batch_alter_table('llm_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_llm_calls_label_set_id'))
        batch_op.drop_index(batch_op.f('ix_llm_calls_created_at'))
        batch_op.drop_index(batch_op.f('ix_llm_calls_cache_key'))

    op.drop_table('llm_calls')
    with op.batch_alter_table('ai_model_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_model_versions_symbol_timeframe_bot'))

    op.drop_table('ai_model_versions')
    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_jobs_symbol_timeframe'))
        batch_op.drop_index(batch_op.f('ix_training_jobs_status'))

    op.drop_table('training_jobs')
    op.drop_table('scheduled_runs')
    op.drop_table('llm_response_cache')
    with op.batch_alter_table('label_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_sets_symbol_timeframe'))

    op.drop_table('label_sets')
    op.drop_table('bars')
    op.drop_table('bar_series')
