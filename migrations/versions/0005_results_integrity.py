"""results integrity: a submitted attempt always has its submit time (CHECK constraint); frozen
ranking snapshots record the version of their canonical form (1 = rows with user ids, as frozen
before this revision; 2 = rows as the ranking export shows them, see app/judging/snapshots.py)

Revision ID: 0005
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None

CHECK = "status <> 'submitted' OR submitted_at IS NOT NULL"


def upgrade() -> None:
    # A submitted attempt without its time can only have been written by hand (or by an old test
    # helper); give it the time the sweep would have: its deadline. Nothing else changes.
    op.execute("UPDATE attempts SET submitted_at = deadline WHERE status = 'submitted' AND submitted_at IS NULL")
    # batch mode: SQLite cannot add a constraint to an existing table, so it copies the table
    # (indexes and foreign keys are carried over by alembic's reflection).
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_check_constraint('submitted_has_time', CHECK)
    # A plain ADD COLUMN (no table copy): the snapshot tables carry triggers that refuse any UPDATE
    # or DELETE, and a copy would drop them. Every snapshot frozen so far used canonical form 1.
    op.add_column('ranking_snapshots',
                  sa.Column('canonical_format', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column('ranking_snapshots', 'canonical_format')
    else:
        # SQLite cannot drop a column without copying the table (which would drop its triggers):
        # the column stays, harmless to the older code.
        pass
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint('submitted_has_time', type_='check')
