"""question bank: a question's text is unique among the contest's *active* questions only;
a search key (lowercase, without accents, question and options) for organizers' searches

Editing a question that participants have already seen retires it and adds the corrected copy
(so past attempts keep showing exactly what was seen); the copy may keep the same text, which the
old (contest_id, text_key) constraint forbade. Retired questions stay for the record.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ACTIVE = sa.text("retired = false")


def upgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_questions_contest_id_text_key', type_='unique')
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('search_key', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_questions_replaces_id_questions'), 'questions',
                                    ['replaces_id'], ['id'])
    op.create_index('uq_questions_active_text', 'questions', ['contest_id', 'text_key'], unique=True,
                    postgresql_where=ACTIVE, sqlite_where=ACTIVE)
    op.create_index('ix_questions_contest_text_key', 'questions', ['contest_id', 'text_key'])
    _fill_search_keys()


def _fill_search_keys() -> None:
    from app.core.textnorm import search_key

    bind = op.get_bind()
    options: dict[int, list[str]] = {}
    for question_id, text in bind.execute(sa.text("SELECT question_id, text FROM options ORDER BY question_id, position")):
        options.setdefault(question_id, []).append(text)
    rows = [{"id": qid, "key": search_key(text, options.get(qid, []))}
            for qid, text in bind.execute(sa.text("SELECT id, text FROM questions"))]
    if rows:
        bind.execute(sa.text("UPDATE questions SET search_key = :key WHERE id = :id"), rows)


def downgrade() -> None:
    _unshare_retired_keys()
    op.drop_index('ix_questions_contest_text_key', table_name='questions')
    op.drop_index('uq_questions_active_text', table_name='questions')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_questions_replaces_id_questions'), type_='foreignkey')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('search_key')
        batch_op.drop_column('replaces_id')
        batch_op.create_unique_constraint('uq_questions_contest_id_text_key', ['contest_id', 'text_key'])


def _unshare_retired_keys() -> None:
    """The old constraint wants one row per (contest, text key), retired or not: a retired
    question whose corrected copy kept its text gets a key of its own (sha256 of key and id)."""
    import hashlib

    bind = op.get_bind()
    seen: set[tuple[int, str]] = set()
    changes = []
    rows = bind.execute(sa.text("SELECT id, contest_id, text_key, retired FROM questions "
                                "ORDER BY retired, id"))  # active rows first keep their key
    for question_id, contest_id, key, _ in rows:
        if (contest_id, key) in seen:
            changes.append({"id": question_id,
                            "key": hashlib.sha256(f"{key}:{question_id}".encode()).hexdigest()})
        else:
            seen.add((contest_id, key))
    if changes:
        bind.execute(sa.text("UPDATE questions SET text_key = :key WHERE id = :id"), changes)
