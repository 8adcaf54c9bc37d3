"""large bank imports run by a job worker: their records and uploaded files (issue 17)

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_imports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=12), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_bank_imports_contest_id_contests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bank_imports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_imports'))
    )
    with op.batch_alter_table('bank_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_imports_contest_id'), ['contest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_imports_expires_at'), ['expires_at'], unique=False)
    op.create_table('bank_import_files',
    sa.Column('import_id', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['bank_imports.id'], name=op.f('fk_bank_import_files_import_id_bank_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', name=op.f('pk_bank_import_files'))
    )


def downgrade() -> None:
    op.drop_table('bank_import_files')
    with op.batch_alter_table('bank_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_imports_expires_at'))
        batch_op.drop_index(batch_op.f('ix_bank_imports_contest_id'))
    op.drop_table('bank_imports')
