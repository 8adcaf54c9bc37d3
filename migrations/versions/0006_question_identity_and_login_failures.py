"""a question's identity is its wording with its options; failed logins kept in the database

- `questions.text_key` becomes the key of the wording *and* the set of options
  (app.core.textnorm.question_key): two questions with the same wording ("Chọn phương án
  đúng:") but other options are two questions, and the unique index on active questions keeps
  only true duplicates out. Existing keys are recomputed (a finer key: still unique).
- `login_failures`: failed logins counted per account (or per unknown login), with the time
  until which the next try must wait, where a Redis flush cannot erase them.

Revision ID: 0006
Revises: 0007
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rekey(with_options=True)
    op.create_table(
        'login_failures',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('wait_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_failures')),
    )


def downgrade() -> None:
    op.drop_table('login_failures')
    _rekey(with_options=False)


def _rekey(with_options: bool) -> None:
    """Recomputes every question's key. Going back to wording-only keys, active questions that
    share a wording (allowed since this revision) get a key of their own except the first, so
    the older unique index still holds."""
    from app.core.textnorm import comparable, question_key

    bind = op.get_bind()
    options: dict[int, list[str]] = {}
    for question_id, text in bind.execute(sa.text("SELECT question_id, text FROM options ORDER BY question_id, position")):
        options.setdefault(question_id, []).append(text)
    seen: set[tuple[int, str]] = set()
    rows = []
    for question_id, contest_id, text, retired in bind.execute(
            sa.text("SELECT id, contest_id, text, retired FROM questions ORDER BY id")):
        if with_options:
            key = question_key(text, options.get(question_id, []))
        else:
            key = hashlib.sha256(comparable(text).encode("utf-8")).hexdigest()
            if not retired:
                if (contest_id, key) in seen:
                    key = hashlib.sha256(f"{key}:{question_id}".encode()).hexdigest()
                seen.add((contest_id, key))
        rows.append({"id": question_id, "key": key})
    if rows:
        bind.execute(sa.text("UPDATE questions SET text_key = :key WHERE id = :id"), rows)
