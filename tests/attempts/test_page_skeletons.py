"""The attempt and result pages filled into skeletons rendered once per round
(app/attempts/skeletons.py): byte for byte the page the template renders for that request, with
each person's own name, form token and numbers, never another's, and a renamed round shown once
the round cache has the new row."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import update

from app.attempts import pages
from app.attempts.skeletons import SKELETONS, Skeleton, Skeletons, bakeable, marker
from app.contests.models import Round
from app.core.clock import utcnow
from tests.attempts.helpers import correct_option, wrong_option


@pytest.fixture
def fixed_now(monkeypatch):
    """The pages' clock stopped, so two renders of the same page can be compared byte for byte."""
    now = utcnow()
    monkeypatch.setattr(pages, "utcnow", lambda: now)
    return now


async def _get(person, url: str, flash: str | None = None) -> str:
    # As a browser does: the session cookie (the form token is then the session's, the same on
    # every render), and the one-time message's cookie when there is one.
    cookie = f"sid={person.token}" + (f"; flash={quote(flash)}" if flash else "")
    response = await person.client.get(url, headers={"Cookie": cookie})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.text


async def _both_ways(person, url: str, monkeypatch, flash: str | None = None) -> tuple[str, str]:
    """(the page from its skeleton, the page rendered by the template as before)."""
    filled = await _get(person, url, flash)
    with monkeypatch.context() as m:
        m.setattr(SKELETONS, "get", lambda *args: None)  # no skeleton: the template's render
        plain = await _get(person, url, flash)
    return filled, plain


async def test_the_attempt_page_is_the_template_s_render(factory, monkeypatch, fixed_now):
    round_ = await factory.round(questions_per_attempt=4, prediction_enabled=True,
                                 prediction_question="Bao nhiêu người <đúng> cả 4 câu?")
    person = await factory.participant(full_name="Trần Thị Bình")
    attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    question = attempt["questions"][2]
    assert (await person.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                              json={"option_id": wrong_option(question)})).status_code == 200
    url = f"/attempts/{attempt['attempt_id']}"
    for variant_url, flash in ((url, None), (url + "?saved=1", None), (url, "Đã lưu <xong>")):
        filled, plain = await _both_ways(person, variant_url, monkeypatch, flash)
        assert filled == plain
    assert "Trần Thị Bình" in filled and "Đã lưu &lt;xong&gt;" in filled
    assert "\ue000" not in filled and 'name="prediction" id="prediction"' in filled

    # A saved prediction shows in its field, from the skeleton as from the template.
    assert (await person.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/prediction",
                              json={"prediction": 4321})).status_code == 204
    filled, plain = await _both_ways(person, url, monkeypatch)
    assert filled == plain and 'value="4321"' in filled


async def test_the_result_page_is_the_template_s_render(factory, monkeypatch, fixed_now):
    round_ = await factory.round(questions_per_attempt=3, attempts_allowed=3)
    person = await factory.participant()
    seen = []
    for right in (2, 3, 0):
        attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
        for question in attempt["questions"][:right]:
            assert (await person.call(
                "PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                json={"option_id": correct_option(question)})).status_code == 200
        assert (await person.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit",
                                  json={"prediction": 1234 + right})).status_code == 200
        seen.append(attempt["attempt_id"])
        # After each: the retry button, then none once every attempt is used; best or not.
        for flash in (None, "Xin chào"):
            filled, plain = await _both_ways(person, f"/attempts/{attempt['attempt_id']}/result", monkeypatch, flash)
            assert filled == plain
    first = await _get(person, f"/attempts/{seen[0]}/result")
    assert "2/3" in first and "Kết quả được tính là lượt tốt nhất: 3/3 câu đúng" in first
    assert "Thi lượt tiếp theo" not in first and "Bạn đã thi 3/3 lượt" in first
    assert "1.236" in first  # the prediction, as the template's number filter wrote it
    best = await _get(person, f"/attempts/{seen[1]}/result")
    assert "Đây là kết quả tốt nhất của bạn" in best


async def test_skeletons_never_carry_one_person_s_values_to_another(factory):
    round_ = await factory.round(questions_per_attempt=2, attempts_allowed=1)
    people = [await factory.participant(full_name=name) for name in ("Người Thứ Nhất", "Người Thứ Hai")]
    pages_ = []
    for person in people:
        attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
        pages_.append((attempt, await _get(person, f"/attempts/{attempt['attempt_id']}")))
    (first, one), (second, two) = pages_
    assert "Người Thứ Nhất" in one and "Người Thứ Nhất" not in two and "Người Thứ Hai" in two
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    assert token.findall(one) and token.findall(two) and not set(token.findall(one)) & set(token.findall(two))
    assert f'data-attempt-id="{second["attempt_id"]}"' in two and f'data-attempt-id="{first["attempt_id"]}"' not in two

    for (attempt, _), person in zip(pages_, people, strict=True):
        await person.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 1})
    one = await _get(people[0], f"/attempts/{first['attempt_id']}/result")
    two = await _get(people[1], f"/attempts/{second['attempt_id']}/result")
    assert "Người Thứ Nhất" in one and "Người Thứ Nhất" not in two and "Người Thứ Hai" in two
    assert not set(token.findall(one)) & set(token.findall(two))
    links = re.compile(r'id="share-url" value="([^"]+)"')
    assert links.findall(one) != links.findall(two)


async def test_a_renamed_round_shows_once_the_round_cache_has_it(factory, app):
    round_ = await factory.round(questions_per_attempt=2, name="Tuần một")
    person = await factory.participant()
    attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    url = f"/attempts/{attempt['attempt_id']}"
    assert "Tuần một — lượt 1" in await _get(person, url)
    async with app.state.runtime.sessionmaker() as db:
        await db.execute(update(Round).where(Round.id == round_.id).values(name="Tuần <hai>"))
        await db.commit()
    app.state.runtime.caches.rounds.clear()  # what the cache's few seconds do
    page = await _get(person, url)
    assert "Tuần &lt;hai&gt; — lượt 1" in page and "Tuần một" not in page


async def test_a_round_name_that_looks_like_a_marker_is_rendered_plainly(factory, app):
    round_ = await factory.round(questions_per_attempt=2, name=f"Tuần {marker('csrf')}")
    person = await factory.participant()
    attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    page = await _get(person, f"/attempts/{attempt['attempt_id']}")
    assert f"Tuần {marker('csrf')} — lượt 1" in page


def test_a_skeleton_is_used_only_with_what_it_was_rendered_from():
    skeletons = Skeletons()
    one, other = object(), object()
    names = frozenset({"name"})
    first = skeletons.get(("k",), one, lambda: f"<p>{marker('name')} · 1</p>", names)
    assert first is not None and first.fill({"name": "An"}) == "<p>An · 1</p>"
    assert skeletons.get(("k",), one, lambda: "never rendered again", names) is first
    second = skeletons.get(("k",), other, lambda: f"<p>{marker('name')} · 2</p>", names)
    assert second is not None and second.fill({"name": "Bình"}) == "<p>Bình · 2</p>"
    assert skeletons.get(("x",), one, lambda: f"{marker('unknown')}", names) is None
    assert Skeleton.parse(one, "no markers").fill({}) == "no markers"
    assert bakeable("Tuần 1", None) and not bakeable("Tuần \ue000")


async def test_the_deadline_passing_still_closes_the_attempt(factory, monkeypatch):
    """The result page's short read leaves an attempt in progress to the portable path, which
    closes it when its time is up (and the attempt page then sends there)."""
    round_ = await factory.round(questions_per_attempt=2)
    person = await factory.participant()
    attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    later = utcnow() + timedelta(hours=2)
    from app.attempts import service

    monkeypatch.setattr(service, "utcnow", lambda: later)
    page = await person.client.get(f"/attempts/{attempt['attempt_id']}", headers=person.headers)
    assert page.status_code == 303 and page.headers["location"].endswith("/result")
    filled, plain = await _both_ways(person, f"/attempts/{attempt['attempt_id']}/result", monkeypatch)
    assert filled == plain and "0/2" in filled and "tự động nộp" in filled and "không có" in filled
