"""`make run`'s demo data: the sample banks import cleanly and a participant can take the demo round."""
from __future__ import annotations

from sqlalchemy import func, select

from app.cli import cmd_seed_demo
from app.contests.demo import DEMO_CONTESTS
from app.contests.models import Contest, Round
from app.core.clock import utcnow
from app.questions.importing import parse_bank_file
from app.questions.models import Question

MINIMUM_QUESTIONS = {"nghi-quyet-dai-hoi-xiv": 120, "nghi-quyet-dai-hoi-xiii": 150, "chi-thi-05-ct-tw": 100}


def test_sample_banks_parse_without_a_single_problem():
    for demo in DEMO_CONTESTS:
        result = parse_bank_file(demo.bank.read_bytes(), demo.bank.name)
        assert result.problems == [], (demo.bank.name, result.problems[:5])
        assert result.duplicate_rows == []
        assert len(result.questions) >= MINIMUM_QUESTIONS[demo.slug]
        topics = {q.topic for q in result.questions}
        assert len(topics) >= 5 and None not in topics
        assert {q.difficulty for q in result.questions} == {1, 2, 3}


async def test_seed_demo_is_idempotent_and_opens_a_round(db, factory, client, capsys):
    assert await cmd_seed_demo(None) == 0
    first = {slug: await _count(db, slug) for slug in MINIMUM_QUESTIONS}
    assert await cmd_seed_demo(None) == 0  # the second run adds nothing
    assert {slug: await _count(db, slug) for slug in MINIMUM_QUESTIONS} == first
    assert "Đã nhập 0 câu hỏi mới" in capsys.readouterr().out
    assert first["nghi-quyet-dai-hoi-xiv"] >= 120

    # The 14th Congress demo is the first contest on the home page, run by the renamed department.
    demos = [c for c in (await client.get("/api/v1/contests")).json() if c["slug"] in MINIMUM_QUESTIONS]
    assert [c["slug"] for c in demos][0] == "nghi-quyet-dai-hoi-xiv"
    assert demos[0]["organizer_name"].startswith("Ban Tuyên giáo và Dân vận Tỉnh ủy")
    home = (await client.get("/")).text
    assert home.index("lần thứ XIV của Đảng") < home.index("lần thứ XIII của Đảng")

    contest = await db.scalar(select(Contest).where(Contest.slug == "nghi-quyet-dai-hoi-xiii"))
    rounds = (await db.scalars(select(Round).where(Round.contest_id == contest.id))).all()
    now = utcnow()
    open_round = next(r for r in rounds if r.is_open(now))
    round_id = open_round.id
    ended = [r for r in rounds if r.close_at < now]
    assert len(ended) == 1  # a finished round: judges can try closing on the demo data
    ended_id, contest_id = ended[0].id, contest.id
    await db.rollback()  # release SQLite's write lock before the app writes
    participant = await factory.participant()
    attempt = await participant.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert attempt.status_code == 201
    assert len(attempt.json()["questions"]) == 20

    from tests.admin.helpers import make_staff

    judge = await make_staff(factory.app, factory.client, roles={contest_id: "judge"})
    closed = await judge.call("POST", f"/api/v1/admin/rounds/{ended_id}/close", json={"truth": None})
    assert closed.status_code == 201, closed.text  # the demo's ended round closes as a real one would


async def _count(db, slug: str) -> int:
    count = await db.scalar(select(func.count()).select_from(Question).join(Contest)
                            .where(Contest.slug == slug))
    # End the read transaction: on SQLite every transaction holds the write lock (BEGIN
    # IMMEDIATE), and the seeding command runs on its own connection.
    await db.rollback()
    return count
