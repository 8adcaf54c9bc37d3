"""leaderboard settings per round (how names are shown)

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('leaderboard_settings',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('name_style', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_leaderboard_settings_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_leaderboard_settings'))
    )


def downgrade() -> None:
    op.drop_table('leaderboard_settings')
