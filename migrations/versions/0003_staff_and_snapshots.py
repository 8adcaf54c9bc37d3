"""staff roles, audit log, contest lists and banner, prize plans, frozen ranking snapshots

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

FROZEN_TABLES = ("ranking_snapshots", "ranking_snapshot_rows")


def upgrade() -> None:
    op.create_table('staff_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_staff_assignments_contest_id_contests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_assignments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_assignments')),
    sa.UniqueConstraint('user_id', 'contest_id', 'role', name=op.f('uq_staff_assignments_user_id_contest_id_role'))
    )
    with op.batch_alter_table('staff_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_assignments_contest_id'), ['contest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_assignments_user_id'), ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=True),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=80), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_contest_id'), ['contest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)

    op.create_table('contest_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('province', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_units_contest_id_contests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_units')),
    sa.UniqueConstraint('contest_id', 'name_key', name=op.f('uq_contest_units_contest_id_name_key'))
    )
    with op.batch_alter_table('contest_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contest_units_contest_id'), ['contest_id'], unique=False)

    op.create_table('contest_localities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('province', sa.String(length=80), nullable=False),
    sa.Column('district', sa.String(length=80), nullable=False),
    sa.Column('commune', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_localities_contest_id_contests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_localities')),
    sa.UniqueConstraint('contest_id', 'province', 'district', 'commune', name=op.f('uq_contest_localities_contest_id_province_district_commune'))
    )
    with op.batch_alter_table('contest_localities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contest_localities_contest_id'), ['contest_id'], unique=False)

    op.create_table('contest_banners',
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_banners_contest_id_contests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contest_id', name=op.f('pk_contest_banners'))
    )

    op.create_table('prize_plans',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('first', sa.Integer(), nullable=False),
    sa.Column('second', sa.Integer(), nullable=False),
    sa.Column('third', sa.Integer(), nullable=False),
    sa.Column('consolation', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_prize_plans_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', name=op.f('pk_prize_plans'))
    )

    op.create_table('ranking_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('truth', sa.Integer(), nullable=True),
    sa.Column('suggested_truth', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_ranking_snapshots_round_id_rounds'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_snapshots')),
    sa.UniqueConstraint('round_id', 'version', name=op.f('uq_ranking_snapshots_round_id_version'))
    )
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ranking_snapshots_round_id'), ['round_id'], unique=False)

    op.create_table('ranking_snapshot_rows',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['ranking_snapshots.id'], name=op.f('fk_ranking_snapshot_rows_snapshot_id_ranking_snapshots'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('snapshot_id', 'position', name=op.f('pk_ranking_snapshot_rows'))
    )

    # Re-grading and per-question statistics look answers up by question.
    with op.batch_alter_table('attempt_answers', schema=None) as batch_op:
        batch_op.create_index('ix_attempt_answers_question_id', ['question_id'], unique=False)

    _forbid_changes_to_frozen_rankings()


def _forbid_changes_to_frozen_rankings() -> None:
    """A frozen ranking is evidence: the database itself refuses to change or delete it, whatever
    code (or person with SQL access) tries."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION forbid_frozen_ranking_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'frozen ranking snapshots cannot be changed (table %)', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql""")
        for table in FROZEN_TABLES:
            op.execute(f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION forbid_frozen_ranking_change()")
    else:
        for table in FROZEN_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'frozen ranking snapshots cannot be changed'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FROZEN_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}")
        op.execute("DROP FUNCTION IF EXISTS forbid_frozen_ranking_change()")
    else:
        for table in FROZEN_TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    with op.batch_alter_table('attempt_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_attempt_answers_question_id')
    op.drop_table('ranking_snapshot_rows')
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ranking_snapshots_round_id'))
    op.drop_table('ranking_snapshots')
    op.drop_table('prize_plans')
    op.drop_table('contest_banners')
    with op.batch_alter_table('contest_localities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contest_localities_contest_id'))
    op.drop_table('contest_localities')
    with op.batch_alter_table('contest_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contest_units_contest_id'))
    op.drop_table('contest_units')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_contest_id'))
    op.drop_table('audit_log')
    with op.batch_alter_table('staff_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_assignments_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_assignments_contest_id'))
    op.drop_table('staff_assignments')
