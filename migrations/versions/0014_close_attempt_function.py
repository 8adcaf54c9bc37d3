"""a submit's close and grading in one round trip: the close_attempt_on_time function (PostgreSQL)

The submit closed and graded an attempt with two statements in one transaction (BEGIN, close,
grade, COMMIT: four round trips). A PL/pgSQL function runs the same two statements in one call;
being VOLATILE, each of its statements takes a fresh snapshot, so the grading still starts only
once the close holds the row lock and sees every answer committed before it (see
app/attempts/statements.py). It also hands back what the live board shows of the participant, so
the board's update reads nothing more. SQLite (the embedded default) has no functions: the
portable path in app/attempts/service.py serves it, and this migration does nothing there.

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# $1 attempt, $2 submit time (already capped at now), $3 auto, $4 prediction (NULL: keep the
# saved one), $5 the oldest deadline still on time (now - grace). No row: already closed, or late.
_FUNCTION = """
CREATE OR REPLACE FUNCTION close_attempt_on_time(
    p_id integer, p_at timestamptz, p_auto boolean, p_prediction bigint, p_since timestamptz
) RETURNS TABLE (
    r_id integer, r_round_id integer, r_user_id integer, r_seq smallint, r_status varchar,
    r_started_at timestamptz, r_deadline timestamptz, r_prediction bigint, r_submitted_at timestamptz,
    r_auto_submitted boolean, r_correct smallint, r_total smallint, r_time_ms integer,
    r_full_name varchar, r_unit varchar, r_province varchar, r_district varchar, r_commune varchar,
    r_excluded boolean
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_started timestamptz;
    v_submitted timestamptz;
BEGIN
    UPDATE attempts a
    SET status = 'submitted',
        submitted_at = CASE WHEN a.deadline < p_at THEN a.deadline ELSE p_at END,
        auto_submitted = p_auto,
        prediction = coalesce(p_prediction, a.prediction)
    WHERE a.id = p_id AND a.status = 'in_progress' AND a.deadline >= p_since
    RETURNING a.started_at, a.submitted_at INTO v_started, v_submitted;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- A statement of its own (a fresh snapshot, taken while this transaction holds the row
    -- lock): every answer committed before the close is counted.
    RETURN QUERY
    UPDATE attempts a
    SET correct = (
            SELECT count(*) FROM attempt_answers x JOIN options o ON o.id = x.option_id
            WHERE x.attempt_id = p_id AND o.is_correct
        ),
        time_ms = round(extract(epoch FROM (v_submitted - v_started)) * 1000)::integer
    FROM users u
    WHERE a.id = p_id AND u.id = a.user_id
    RETURNING a.id, a.round_id, a.user_id, a.seq, a.status, a.started_at, a.deadline, a.prediction,
              a.submitted_at, a.auto_submitted, a.correct, a.total, a.time_ms,
              u.full_name, u.unit, u.province, u.district, u.commune,
              EXISTS (SELECT 1 FROM result_exclusions e
                      WHERE e.round_id = a.round_id AND e.user_id = a.user_id AND e.lifted_at IS NULL);
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS close_attempt_on_time(integer, timestamptz, boolean, bigint, timestamptz)")
