"""The attempt page's question list (app/attempts/fragments.py): written from per-question pieces
cached in the process, it must be the markup the template's loop rendered, show each person only
their own saved answers, and follow a question's content entry when it changes."""
from __future__ import annotations

import re

from sqlalchemy import update

from app.attempts.fragments import QuestionPieces, questions_html
from app.questions.models import Question
from app.questions.service import QuestionContent
from app.web.render import templates
from tests.attempts.helpers import correct_option

# The attempt template's loop before the list was written in Python (attempt.html, aafec34).
OLD_LOOP = """\
  {% for q in attempt.questions %}
    <fieldset class="question" id="q-{{ q.id }}" data-question-id="{{ q.id }}" data-saved="{{ attempt.answers.get(q.id|string, '') }}">
      <legend><span class="qnum">Câu {{ q.number }}.</span> {{ q.text }}</legend>
      {% for o in q.options %}
        <label class="option">
          <input type="radio" name="q{{ q.id }}" value="{{ o.id }}" {% if attempt.answers.get(q.id|string) == o.id %}checked{% endif %}>
          <span class="letter">{{ o.label }}.</span> <span>{{ o.text }}</span>
        </label>
      {% endfor %}
    </fieldset>
  {% endfor %}
"""


def _contents() -> dict[int, QuestionContent]:
    return {
        7: QuestionContent(7, 'Chọn "A" & <b>không</b> in đậm?', {70: "<script>", 71: "a & b", 72: "'x'"}, None, 1, None),
        9: QuestionContent(9, "Câu thứ hai", {90: "Một", 91: "Hai", 92: "Ba", 93: "Bốn"}, None, 2, None),
    }


def _token(option_id: int) -> str:
    return f"tok-{option_id}"


def _old_render(paper, contents, answers) -> str:
    questions = [
        {
            "id": qid,
            "number": number,
            "text": contents[qid].text,
            "options": [
                {"id": _token(oid), "label": "ABCDEF"[i], "text": contents[qid].options[oid]}
                for i, oid in enumerate(option_ids)
            ],
        }
        for number, (qid, option_ids) in enumerate(paper, start=1)
    ]
    attempt = {"questions": questions, "answers": {str(q): _token(o) for q, o in answers.items()}}
    return templates.env.from_string(OLD_LOOP).render(attempt=attempt)


def test_the_list_is_the_markup_the_template_loop_rendered():
    contents = _contents()
    paper = [[9, [93, 90, 92, 91]], [7, [72, 70, 71]]]
    for answers in ({}, {9: 92}, {9: 90, 7: 71}):
        pieces = QuestionPieces()
        expected = _old_render(paper, contents, answers)
        # The loop's first line's indent is the template's, before {{ attempt.questions_html }}.
        assert "  " + str(questions_html(paper, contents, answers, _token, pieces)) == expected
        # ...and again from the cached pieces, in another order.
        again = [[7, [71, 72, 70]], [9, [90, 91, 92, 93]]]
        assert "  " + str(questions_html(again, contents, answers, _token, pieces)) == _old_render(
            again, contents, answers
        )


def test_a_piece_follows_its_content_entry():
    """A reloaded content entry (the content cache dropped it) is used at once, not its old piece."""
    pieces = QuestionPieces()
    first = _contents()
    assert "Câu thứ hai" in questions_html([[9, [90, 91]]], first, {}, _token, pieces)
    changed = dict(first)
    changed[9] = QuestionContent(9, "Câu đã sửa", {90: "Một mới", 91: "Hai"}, None, 2, None)
    shown = questions_html([[9, [90, 91]]], changed, {}, _token, pieces)
    assert "Câu đã sửa" in shown and "Một mới" in shown and "Câu thứ hai" not in shown


def _checked(html: str) -> list[str]:
    return re.findall(r'value="([^"]+)" checked>', html)


def _saved(html: str) -> set[str]:
    return set(re.findall(r'data-saved="([^"]*)"', html))


async def test_each_person_sees_only_their_own_answers_checked(factory):
    # Every question of the bank is in both papers: both pages are written from the same pieces.
    round_ = await factory.round(await factory.contest(questions=4), questions_per_attempt=4)
    one, other = await factory.participant(), await factory.participant()
    mine = (await one.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    theirs = (await other.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    assert {q["id"] for q in mine["questions"]} == {q["id"] for q in theirs["questions"]}

    before = (await other.call("GET", f"/attempts/{theirs['attempt_id']}")).text
    assert _checked(before) == [] and _saved(before) == {""}

    question = mine["questions"][1]
    chosen = correct_option(question)
    saved = await one.call(
        "PUT", f"/api/v1/attempts/{mine['attempt_id']}/answers/{question['id']}", json={"option_id": chosen}
    )
    assert saved.status_code == 200

    page = (await one.call("GET", f"/attempts/{mine['attempt_id']}")).text
    assert _checked(page) == [chosen]
    assert f'data-question-id="{question["id"]}" data-saved="{chosen}"' in page
    assert page.count('type="radio"') == 16 and 'data-total="4"' in page
    # The other person's page, written from the same cached pieces, still shows nothing chosen,
    # and none of the first person's option tokens.
    after = (await other.call("GET", f"/attempts/{theirs['attempt_id']}")).text
    assert _checked(after) == [] and _saved(after) == {""}
    assert not {o["id"] for q in mine["questions"] for o in q["options"]} & set(re.findall(r'value="([^"]+)"', after))
    # The page's tokens are the API's, in the API's order.
    assert re.findall(r'name="q\d+" value="([^"]+)"', page) == [o["id"] for q in mine["questions"] for o in q["options"]]


async def test_the_page_shows_a_question_s_current_text(factory, app):
    """Pieces are tied to the content cache's entries: when an entry is reloaded (here after the
    words changed in the database, which the bank never does to a question in use, but a rebuilt
    cache must not show what it held before), the page shows the new words."""
    round_ = await factory.round(await factory.contest(questions=2), questions_per_attempt=2)
    person = await factory.participant()
    attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    question = attempt["questions"][0]
    assert question["text"] in (await person.call("GET", f"/attempts/{attempt['attempt_id']}")).text

    async with app.state.runtime.sessionmaker() as db:
        await db.execute(update(Question).where(Question.id == question["id"]).values(text="Câu đã sửa <mới>"))
        await db.commit()
    app.state.runtime.caches.contents.clear()
    page = (await person.call("GET", f"/attempts/{attempt['attempt_id']}")).text
    assert "Câu đã sửa &lt;mới&gt;" in page and question["text"] not in page
