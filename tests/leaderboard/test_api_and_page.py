"""The leaderboard's JSON API and page as participants and organizers use them: names masked as
the organizer chose, never a phone or CCCD, my rank with neighbours, unit and province boards,
participant counts; a real submit puts the participant on the board."""
from __future__ import annotations

from tests.leaderboard.conftest import make_staff
from tests.leaderboard.journey import take_attempt

GIVEN = ["An", "Bình", "Cường", "Dung", "Hải", "Khánh", "Lan", "Minh", "Nam"]


async def test_submitting_puts_the_participant_on_the_board_with_a_masked_name(factory, client):
    round_ = await factory.round(questions_per_attempt=5)
    people = [
        await factory.participant(full_name="Nguyễn Văn An", unit="Sở Tư pháp", province="Hà Nội"),
        await factory.participant(full_name="trần thị bích ngọc", unit="Sở Y tế", province="Hà Nội"),
        await factory.participant(full_name="Lê Minh", unit="Sở Tư pháp", province="Nghệ An"),
        await factory.participant(full_name="Phạm Văn Dũng", unit="Sở Y tế", province="Nghệ An"),
    ]
    for person, right in zip(people, [3, 5, 4, 1]):
        await take_attempt(person.call, round_.id, right)
    url = f"/api/v1/rounds/{round_.id}/leaderboard"
    board = (await client.get(url)).json()
    assert (board["phase"], board["scope"], board["participants"]) == ("live", "all", 4)
    assert [r["name"] for r in board["rows"]] == ["Trần T. B. N.", "Lê M.", "Nguyễn V. A.", "Phạm V. D."]
    assert [r["rank"] for r in board["rows"]] == [1, 2, 3, 4]
    assert [r["correct"] for r in board["rows"]] == [5, 4, 3, 1]
    assert board["rows"][0]["prediction"] is None  # nobody sees predictions while the round runs
    for person in people:
        assert person.user["phone"] not in str(board) and person.user["citizen_id"] not in str(board)

    # A second, better attempt moves Phạm up; a worse one would not.
    await take_attempt(people[3].call, round_.id, 5)
    board = (await people[3].call("GET", url)).json()
    assert board["participants"] == 4
    rows = board["rows"]
    assert {r["name"] for r in rows[:2]} == {"Trần T. B. N.", "Phạm V. D."}  # both 5/5: the faster first
    assert rows[0]["time_ms"] <= rows[1]["time_ms"] and [r["correct"] for r in rows] == [5, 5, 4, 3]
    assert [r["is_me"] for r in rows] == [r["name"] == "Phạm V. D." for r in rows]

    unit = (await client.get(url, params={"unit": "Sở Y tế"})).json()
    assert (unit["scope"], unit["scope_name"], unit["participants"]) == ("unit", "Sở Y tế", 2)
    assert [r["rank"] for r in unit["rows"]] == [1, 2]
    province = (await client.get(url, params={"province": "Nghệ An", "limit": 1})).json()
    assert province["participants"] == 2 and [r["name"] for r in province["rows"]] == ["Phạm V. D."]
    both = await client.get(url, params={"province": "Nghệ An", "unit": "Sở Y tế"})
    assert both.status_code == 422 and both.json()["error"]["code"] == "invalid_scope"
    assert (await client.get(url, params={"limit": 0})).status_code == 422
    assert (await client.get("/api/v1/rounds/987654321/leaderboard")).status_code == 404

    units = (await client.get(url + "/units")).json()
    assert units["participants"] == 4 and units["groups_total"] == 2
    assert units["groups"] == [{"name": "Sở Tư pháp", "participants": 2}, {"name": "Sở Y tế", "participants": 2}]
    provinces = (await client.get(url + "/provinces")).json()
    assert [g["participants"] for g in provinces["groups"]] == [2, 2]


async def test_my_rank_with_neighbours_in_the_round_my_unit_and_my_province(factory, client):
    round_ = await factory.round(questions_per_attempt=10)
    people = []
    for i in range(9):
        person = await factory.participant(full_name=f"Đặng Văn {GIVEN[i]}", unit=["Đơn vị A", "Đơn vị B"][i % 2],
                                           province="Đà Nẵng")
        await take_attempt(person.call, round_.id, 10 - i)  # person i ranks i + 1
        people.append(person)
    url = f"/api/v1/rounds/{round_.id}/leaderboard/me"
    assert (await client.get(url)).status_code == 401
    me = (await people[4].call("GET", url, params={"around": 2})).json()
    assert me["on_board"] and me["phase"] == "live"
    overall, unit, province = me["standings"]
    assert (overall["scope"], overall["rank"], overall["participants"]) == ("all", 5, 9)
    assert [r["rank"] for r in overall["rows"]] == [3, 4, 5, 6, 7]
    assert [r["is_me"] for r in overall["rows"]] == [False, False, True, False, False]
    assert [r["name"] for r in overall["rows"]][2] == "Đặng V. H."
    assert (unit["scope_name"], unit["rank"], unit["participants"]) == ("Đơn vị A", 3, 5)  # people 0, 2, 4, 6, 8
    assert [r["rank"] for r in unit["rows"]] == [1, 2, 3, 4, 5]
    assert (province["scope_name"], province["rank"]) == ("Đà Nẵng", 5)
    first = (await people[0].call("GET", url, params={"around": 1})).json()["standings"][0]
    assert [r["rank"] for r in first["rows"]] == [1, 2]
    newcomer = await factory.participant()
    assert (await newcomer.call("GET", url)).json() == {"round_id": round_.id, "phase": "live", "on_board": False,
                                                        "standings": []}


async def test_the_organizer_chooses_how_names_are_shown(factory, client):
    round_ = await factory.round(questions_per_attempt=3)
    person = await factory.participant(full_name="Võ Thị Sáu")
    await take_attempt(person.call, round_.id, 3)
    url = f"/api/v1/rounds/{round_.id}/leaderboard"
    settings_url = url + "/settings"
    assert (await person.call("PUT", settings_url, json={"name_style": "full"})).status_code == 403
    organizer = await factory.participant()
    await make_staff(factory.app, organizer.user["id"])
    assert (await organizer.call("GET", settings_url)).json()["name_style"] == "initials"
    assert (await organizer.call("PUT", settings_url, json={"name_style": "loud"})).status_code == 422

    for style, shown in [("full", "Võ Thị Sáu"), ("hidden", "Ẩn danh"), ("initials", "Võ T. S.")]:
        saved = await organizer.call("PUT", settings_url, json={"name_style": style})
        assert saved.json() == {"round_id": round_.id, "name_style": style}
        assert (await client.get(url)).json()["rows"][0]["name"] == shown
        page = await client.get(f"/rounds/{round_.id}/leaderboard")
        assert shown in page.text
        if style != "full":
            assert "Võ Thị Sáu" not in page.text


async def test_the_page_without_javascript(factory, client):
    round_ = await factory.round(questions_per_attempt=4)
    a = await factory.participant(full_name="Nguyễn Thị Hoa", unit="Trường THCS <b>Láng</b>", province="Hà Nội")
    b = await factory.participant(full_name="Bùi Văn Tùng", unit="Sở Y tế", province="Hải Phòng")
    await take_attempt(a.call, round_.id, 4)
    await take_attempt(b.call, round_.id, 2)
    page = await client.get(f"/rounds/{round_.id}/leaderboard")
    assert page.status_code == 200
    text = page.text
    assert "Bảng xếp hạng tạm thời" in text and "Đăng nhập</a> để xem thứ hạng của bạn" in text
    assert text.index("Nguyễn T. H.") < text.index("Bùi V. T.")
    assert "Trường THCS &lt;b&gt;Láng&lt;/b&gt;" in text and "<b>Láng</b>" not in text
    assert '<strong id="lb-count">2</strong>' in text
    assert "Hải Phòng (1)" in text  # the province filter lists counts
    mine = await b.call("GET", f"/rounds/{round_.id}/leaderboard", params={"province": "Hải Phòng"})
    assert "Thứ hạng của bạn" in mine.text and "hạng <strong>2</strong>/2" in mine.text
    assert 'class="lb-me"' in mine.text and '<strong id="lb-count">1</strong>' in mine.text
    around = mine.text[mine.text.index('id="lb-around"'):]
    around = around[:around.index("</table>")]
    assert around.index("Nguyễn T. H.") < around.index("Bùi V. T.") and "(bạn)" in around
    contest = await client.get(f"/contests/{round_.contest_id}")
    assert f'href="/rounds/{round_.id}/leaderboard"' in contest.text
