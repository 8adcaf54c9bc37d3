"""A question is its wording *with* its options (issue 13 item 7): two rows with the same wording
("Chọn phương án đúng:") but other options are two questions and both are imported; only the same
wording with the same options and the same right option is a duplicate; the same wording and
options with another right option is a contradiction, reported, and nothing is written. An import
never says it succeeded while dropping a question."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from app.questions.importing import parse_bank_file
from app.questions.models import Question
from tests.questions.helpers import count_questions, make_staff, row, xlsx
from tests.questions.test_bank_api import bank_url, upload

GENERIC = "Chọn phương án đúng:"
FIRST = row(1, GENERIC, ("Đại hội XIII họp năm 2021", "Đại hội XIII họp năm 2016", "Đại hội XIII họp năm 2011"))
SECOND = row(2, GENERIC, ("Nghị quyết 18 bàn về tinh gọn bộ máy", "Nghị quyết 18 bàn về đất đai"))
# The first question again, options in another order and other spacing/case, same right option.
FIRST_AGAIN = row(3, " chọn phương án  đúng ", ("Đại hội XIII họp năm 2016", "đại hội XIII họp năm 2021",
                                                "Đại hội XIII họp năm 2011"), answer="B")


def test_same_wording_with_other_options_is_another_question_and_a_true_duplicate_is_kept_once():
    result = parse_bank_file(xlsx([FIRST, SECOND, FIRST_AGAIN]), "x.xlsx")
    assert result.problems == []
    assert [(q.row, q.options[q.answer_index]) for q in result.questions] == [
        (2, "Đại hội XIII họp năm 2021"), (3, "Nghị quyết 18 bàn về tinh gọn bộ máy")]
    assert result.duplicate_rows == [(4, 2)]


def test_same_wording_and_options_with_another_key_is_a_contradiction_not_a_silent_drop():
    contradiction = row(3, GENERIC, FIRST[2:5], answer="C")
    result = parse_bank_file(xlsx([FIRST, SECOND, contradiction]), "x.xlsx")
    assert result.questions == [] and result.duplicate_rows == []
    [problem] = result.problems
    assert problem.row == 4 and "đáp án khác" in problem.message and "A ở dòng 2, C ở dòng 4" in problem.message


async def test_the_bank_keeps_both_questions_and_refuses_a_contradicting_key(app, factory, db):
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    first = await upload(organizer, contest.id, xlsx([FIRST, SECOND]))
    assert first.status_code == 200 and first.json()["added"] == 2, first.text
    assert await count_questions(db, contest.id) == 2   # the database's unique index takes both
    again = (await upload(organizer, contest.id, xlsx([FIRST_AGAIN, SECOND]))).json()
    assert again["added"] == 0 and len(again["duplicates_in_bank"]) == 2

    # The same question with another key: refused with the bank's question named; nothing written.
    wrong_key = row(1, GENERIC, FIRST[2:5], answer="B")
    refused = await upload(organizer, contest.id, xlsx([wrong_key, row(2, "Một câu mới hoàn toàn?")]))
    assert refused.status_code == 422
    report = refused.json()["error"]["details"]
    assert report["added"] == 0 and not report["ok"] and "Chưa có câu hỏi nào" in report["summary"]
    bank_id = again["duplicates_in_bank"][0]["question_id"]
    assert [p["row"] for p in report["problems"]] == [2] and f"câu #{bank_id}" in report["problems"][0]["message"]
    assert await count_questions(db, contest.id) == 2

    # Once the organizer retires the question with the wrong key, the corrected row imports.
    await organizer.call("POST", bank_url(contest.id, f"/questions/{bank_id}/retire"))
    fixed = await upload(organizer, contest.id, xlsx([wrong_key]))
    assert fixed.status_code == 200 and fixed.json()["added"] == 1 and fixed.json()["retired_in_bank"] == []
    assert await count_questions(db, contest.id, retired=False) == 2


def test_the_migration_rekeys_existing_questions_so_both_fit_the_unique_index(tmp_path):
    """Upgrading a database written before 0006 recomputes every key; afterwards a question with
    the wording of an existing one but other options can be stored beside it."""
    from alembic import command

    from app.core.migrate import alembic_config
    from app.core.textnorm import question_key

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    import os

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        from app.config import get_settings
        get_settings.cache_clear()
        command.upgrade(config, "0004")
        con = sqlite3.connect(tmp_path / "old.sqlite3")
        con.execute("INSERT INTO contests (id, slug, title, rules_text, description, published, created_at) "
                    "VALUES (1, 'c', 'C', '', '', 1, '2026-01-01')")
        con.execute("INSERT INTO questions (id, contest_id, text, text_key, difficulty, retired, created_at) "
                    "VALUES (1, 1, ?, 'old-key', 2, 0, '2026-01-01')", (GENERIC,))
        con.executemany("INSERT INTO options (question_id, position, text, is_correct) VALUES (1, ?, ?, ?)",
                        [(0, "Một", 1), (1, "Hai", 0)])
        con.commit()
        command.upgrade(config, "head")
        assert con.execute("SELECT text_key FROM questions").fetchone()[0] == question_key(GENERIC, ["Hai", "Một"])
        con.execute("INSERT INTO questions (id, contest_id, text, text_key, difficulty, retired, created_at) "
                    "VALUES (2, 1, ?, ?, 2, 0, '2026-01-01')", (GENERIC, question_key(GENERIC, ["Ba", "Bốn"])))
        con.commit()
        command.downgrade(config, "0004")   # back to wording-only keys: the second gets a key of its own
        keys = [k for (k,) in con.execute("SELECT text_key FROM questions ORDER BY id")]
        assert len(set(keys)) == 2
        con.close()
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        get_settings.cache_clear()


async def test_an_edit_may_share_the_wording_of_another_question(app, factory, db):
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    await upload(organizer, contest.id, xlsx([FIRST, row(2, "Câu sẽ được sửa?")]))
    ids = (await db.scalars(select(Question.id).where(Question.contest_id == contest.id).order_by(Question.id))).all()
    await db.rollback()
    edited = await organizer.call("PUT", bank_url(contest.id, f"/questions/{ids[1]}"),
                                  json={"text": GENERIC, "options": ["Khác 1", "Khác 2"], "answer": "A"})
    assert edited.status_code == 200, edited.text
    clash = await organizer.call("PUT", bank_url(contest.id, f"/questions/{edited.json()['id']}"),
                                 json={"text": GENERIC, "options": list(FIRST[2:5]), "answer": "B"})
    assert clash.status_code == 409 and f"câu #{ids[0]}" in clash.json()["error"]["message"]


async def test_adding_parsed_questions_never_drops_a_contradicting_one_silently(app, factory, db):
    from app.core.errors import Invalid
    from app.questions.service import add_parsed_questions

    contest = await factory.contest(questions=0)
    [first] = parse_bank_file(xlsx([FIRST]), "x.xlsx").questions
    assert (await add_parsed_questions(db, contest.id, [first])).added == 1
    [other_key] = parse_bank_file(xlsx([row(1, GENERIC, FIRST[2:5], answer="C")]), "x.xlsx").questions
    with pytest.raises(Invalid, match="đáp án khác"):
        await add_parsed_questions(db, contest.id, [other_key])
    assert await count_questions(db, contest.id) == 1
