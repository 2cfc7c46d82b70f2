"""Validation (link, data and metadata checks, runs), the report outbox, daemon schedules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_check',
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('format', sa.String(16), nullable=True),
    sa.Column('tabular', sa.Boolean(), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('sampled', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('bytes_read', sa.Integer(), nullable=False),
    sa.Column('rows_checked', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('error_types', sa.Text(), nullable=False),
    sa.Column('examples', sa.Text(), nullable=False),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.String(64), nullable=True),
    sa.Column('sha256', sa.String(64), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('url')
    )
    op.create_table('link_check',
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.Text(), nullable=True),
    sa.Column('final_url', sa.Text(), nullable=True),
    sa.Column('elapsed_s', sa.Float(), nullable=True),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('error_code', sa.String(64), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('url')
    )
    op.create_table('metadata_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(64), nullable=False),
    sa.Column('dataset_iri', sa.Text(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('record', sa.String(16), nullable=False),
    sa.Column('code', sa.String(80), nullable=False),
    sa.Column('severity', sa.String(8), nullable=False),
    sa.Column('property', sa.String(64), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metadata_finding', schema=None) as batch_op:
        batch_op.create_index('ix_metadata_finding_dataset', ['dataset_iri'], unique=False)
        batch_op.create_index('ix_metadata_finding_source', ['source'], unique=False)

    op.create_table('report_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.String(64), nullable=False),
    sa.Column('period', sa.String(7), nullable=False),
    sa.Column('recipient', sa.String(320), nullable=False),
    sa.Column('language', sa.String(8), nullable=False),
    sa.Column('message_id', sa.String(255), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency_id', 'period', name='uq_report_delivery_agency_period')
    )
    with op.batch_alter_table('report_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_report_delivery_status', ['status'], unique=False)

    op.create_table('validation_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('source_schedule',
    sa.Column('source', sa.String(64), nullable=False),
    sa.Column('schedule', sa.String(120), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source'], ['source.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source')
    )
    with op.batch_alter_table('source_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_schedule_next_run_at'), ['next_run_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('source_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_schedule_next_run_at'))

    op.drop_table('source_schedule')
    op.drop_table('validation_run')
    with op.batch_alter_table('report_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_report_delivery_status')

    op.drop_table('report_delivery')
    with op.batch_alter_table('metadata_finding', schema=None) as batch_op:
        batch_op.drop_index('ix_metadata_finding_source')
        batch_op.drop_index('ix_metadata_finding_dataset')

    op.drop_table('metadata_finding')
    op.drop_table('link_check')
    op.drop_table('data_check')
