"""Results integrity (issue 13): no attempt outlives its round, a frozen round stays frozen, and
the public final board, every export and the snapshot list the same people in the same order,
even after Redis loses everything. The frozen digest is recomputable from the exported file."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import cli
from app.attempts.models import IN_PROGRESS, SUBMITTED, Attempt
from app.contests.models import Round
from app.core.clock import to_local, utcnow
from app.exports.reports import EXPORTS
from app.judging.frozen import iter_rows, latest_snapshot
from app.judging.snapshots import verify
from app.leaderboard.board import ALL, FINAL, BoardKeys, RoundBoard
from app.leaderboard.rebuild import rebuild_boards
from tests.admin.helpers import make_staff, take_attempt
from tests.attempts.helpers import correct_option


def round_body(round_: Round, **changes) -> dict:
    body = {"name": round_.name, "open_at": round_.open_at.isoformat(), "close_at": round_.close_at.isoformat(),
            "questions_per_attempt": round_.questions_per_attempt,
            "time_limit_minutes": round_.time_limit_seconds // 60, "attempts_allowed": round_.attempts_allowed,
            "quotas": round_.quotas or [], "prediction_enabled": round_.prediction_enabled,
            "prizes": {"first": 1, "second": 1, "third": 1, "consolation": 1}}
    return body | {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}


async def advance_time(app, round_id: int, seconds: float) -> None:
    """Lets `seconds` pass for one round: every time it stores moves that much into the past (the
    attempt cache goes too, as it would expire; what it held is then re-read from the database)."""
    delta = timedelta(seconds=seconds)
    async with app.state.runtime.sessionmaker() as db:
        round_ = await db.get(Round, round_id)
        round_.open_at -= delta
        round_.close_at -= delta
        for a in (await db.scalars(select(Attempt).where(Attempt.round_id == round_id))).all():
            a.started_at -= delta
            a.deadline -= delta
            if a.submitted_at is not None:
                a.submitted_at -= delta
            await app.state.runtime.attempt_cache.forget(a.id)
        await db.commit()
    app.state.runtime.caches.rounds.clear()


async def open_and_answer(participant, round_id: int, answers: int) -> dict:
    opened = await participant.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert opened.status_code == 201, opened.text
    attempt = opened.json()
    for q in attempt["questions"][:answers]:
        r = await participant.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                   json={"option_id": correct_option(q)})
        assert r.status_code == 200, r.text
    return attempt


async def attempts_of(app, round_id: int) -> list[Attempt]:
    async with app.state.runtime.sessionmaker() as db:
        return list((await db.scalars(select(Attempt).where(Attempt.round_id == round_id).order_by(Attempt.id))).all())


async def assert_no_attempt_outlives_its_round(app, round_id: int) -> None:
    async with app.state.runtime.sessionmaker() as db:
        round_ = await db.get(Round, round_id)
        for a in (await db.scalars(select(Attempt).where(Attempt.round_id == round_id))).all():
            if a.status == SUBMITTED:
                assert a.submitted_at <= a.deadline and a.submitted_at <= round_.close_at, (a.id, round_.close_at)
            else:
                assert a.deadline <= round_.close_at, (a.id, a.deadline, round_.close_at)


async def test_moving_close_earlier_caps_open_attempts_which_then_close_with_what_they_saved(factory, app, client):
    round_ = await factory.round(questions_per_attempt=10)
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    late = await factory.participant()
    attempt = await open_and_answer(late, round_.id, 6)
    assert (to_local_deadline := attempt["deadline"])  # the old deadline: ten minutes from now
    new_close = utcnow().replace(microsecond=0) + timedelta(seconds=30)
    moved = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}", json=round_body(round_, close_at=new_close))
    assert moved.status_code == 200, moved.text
    # The open attempt now ends with the round, and its owner sees it at once (cache dropped).
    resumed = (await late.call("GET", f"/api/v1/attempts/{attempt['attempt_id']}")).json()
    assert resumed["deadline"] != to_local_deadline
    (stored,) = await attempts_of(app, round_.id)
    assert stored.deadline == new_close and stored.status == IN_PROGRESS
    await assert_no_attempt_outlives_its_round(app, round_.id)
    await advance_time(app, round_.id, 31)
    # Past the new close (+ grace): a save and a submit are refused / closed at the close, graded
    # with the six saved answers.
    q = attempt["questions"][7]
    save = await late.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                           json={"option_id": correct_option(q)})
    assert save.status_code == 409, save.text
    submitted = await late.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 1})
    assert submitted.status_code in (200, 409), submitted.text
    (closed,) = await attempts_of(app, round_.id)
    assert closed.status == SUBMITTED and closed.correct == 6
    assert closed.submitted_at == closed.deadline == new_close - timedelta(seconds=31)
    await assert_no_attempt_outlives_its_round(app, round_.id)


async def test_the_database_refuses_a_save_past_the_stored_deadline_even_with_a_stale_cache(factory, app, client):
    """A second worker's cache may still hold the old deadline: the save statement itself checks."""
    round_ = await factory.round(questions_per_attempt=10)
    late = await factory.participant()
    attempt = await open_and_answer(late, round_.id, 1)
    cached = await app.state.runtime.attempt_cache.get(attempt["attempt_id"])
    async with app.state.runtime.sessionmaker() as db:  # the deadline passed (as stored), the cache does not know
        stored = await db.get(Attempt, attempt["attempt_id"])
        stored.deadline = utcnow() - timedelta(seconds=5)
        await db.commit()
    assert cached is not None and cached.deadline > utcnow()
    q = attempt["questions"][2]
    save = await late.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                           json={"option_id": correct_option(q)})
    assert save.status_code == 409, save.text
    (closed,) = await attempts_of(app, round_.id)
    assert closed.correct in (None, 1) and closed.submitted_at in (None, closed.deadline)


async def test_a_close_typed_in_the_past_ends_the_round_now_and_the_opening_cannot_follow_the_first_attempt(
        factory, app, client):
    round_ = await factory.round()
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    participant = await factory.participant()
    attempt = await open_and_answer(participant, round_.id, 2)
    before = utcnow()
    past = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}",
                                json=round_body(round_, close_at=utcnow() - timedelta(minutes=1)))
    assert past.status_code == 200, past.text
    (stored,) = await attempts_of(app, round_.id)
    async with app.state.runtime.sessionmaker() as s:
        close_at = (await s.get(Round, round_.id)).close_at
    # Closed now, not a minute ago: the two answers accepted before stay inside the round.
    assert before - timedelta(milliseconds=1) <= close_at <= utcnow() and stored.deadline == close_at
    await assert_no_attempt_outlives_its_round(app, round_.id)
    later_open = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}",
                                      json=round_body(round_, open_at=utcnow() + timedelta(minutes=1)))
    assert later_open.status_code == 422 and "open_at" in later_open.json()["error"]["details"]["fields"]
    assert attempt


async def closed_and_frozen(factory, app, client):
    """A round where one participant is still answering when the organizer ends it early; then
    the judge freezes it."""
    round_ = await factory.round(questions_per_attempt=10, prediction_enabled=True)
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    people = []
    for right, unit in ((9, "Sở Tư pháp"), (7, "sở  tư pháp"), (7, None), (3, "Sở Y tế")):
        p = await factory.participant(unit=unit) if unit else await factory.participant(unit="")
        await take_attempt(p, round_.id, right, prediction=2)
        people.append(p)
    late = await factory.participant(unit="Sở Y tế")
    late_attempt = await open_and_answer(late, round_.id, 10)  # all right, never submitted
    moved = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}",
                                 json=round_body(round_, close_at=utcnow() + timedelta(seconds=20)))
    assert moved.status_code == 200, moved.text
    await advance_time(app, round_.id, 25)
    closing = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"note": "Chốt"})
    assert closing.status_code == 201, closing.text
    return round_, organizer, judge, people, late, late_attempt, closing.json()


async def test_closing_closes_open_attempts_in_the_frozen_ranking_and_nothing_is_taken_after(factory, app, client, db):
    round_, _, _, _, late, late_attempt, snap = await closed_and_frozen(factory, app, client)
    assert snap["participants"] == 5
    snapshot = await latest_snapshot(db, round_.id)
    rows = [r async for r in iter_rows(db, snapshot.id)]
    await db.rollback()
    assert rows[0].user_id == late.user["id"] and rows[0].correct == 10  # graded with what was saved
    q = late_attempt["questions"][0]
    save = await late.call("PUT", f"/api/v1/attempts/{late_attempt['attempt_id']}/answers/{q['id']}",
                           json={"option_id": correct_option(q)})
    assert save.status_code == 409
    again = await late.call("POST", f"/api/v1/attempts/{late_attempt['attempt_id']}/submit", json={"prediction": 2})
    assert again.status_code == 200 and again.json()["correct"] == 10  # the stored result, unchanged
    reopen = await late.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert reopen.status_code == 409
    await assert_no_attempt_outlives_its_round(app, round_.id)


async def test_a_frozen_round_cannot_be_reopened_or_edited_nor_republished(factory, app, client, db):
    round_, organizer, judge, _, _, _, snap = await closed_and_frozen(factory, app, client)
    async with app.state.runtime.sessionmaker() as s:
        fresh = await s.get(Round, round_.id)
    for change in ({"close_at": utcnow() + timedelta(days=1)}, {"attempts_allowed": 3}, {"name": "Tuần đổi tên"},
                   {"quotas": [{"topic": "Chủ đề 1", "difficulty": None, "count": 1}]}):
        refused = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}", json=round_body(fresh, **change))
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "round_frozen" and error["details"] == {"round_id": round_.id, "snapshot_version": 1}
        assert "chốt kết quả" in error["message"]
    # The console page says it in Vietnamese, on the round's page.
    page = await organizer.client.get(f"/admin/rounds/{round_.id}", headers=organizer.headers)
    assert "đã được Ban giám khảo chốt kết quả" in page.text
    csrf = organizer.client.cookies.get("csrftoken") or page.cookies.get("csrftoken")
    form = {k: str(v) for k, v in round_body(fresh).items() if k not in ("quotas", "prizes")}
    form |= {"open_at": to_local(fresh.open_at).strftime("%d/%m/%Y %H:%M"),
             "close_at": to_local(utcnow() + timedelta(days=2)).strftime("%d/%m/%Y %H:%M"), "csrf_token": csrf or ""}
    posted = await organizer.call("POST", f"/admin/rounds/{round_.id}", data=form,
                                  cookies={"csrftoken": csrf} if csrf else None)
    assert posted.status_code == 409 and "đã được Ban giám khảo chốt kết quả" in posted.text
    # Re-publishing the final board with another T is refused too: only re-grading changes results.
    republish = await judge.call("POST", f"/api/v1/rounds/{round_.id}/leaderboard/finalize",
                                 json={"prediction_truth": 99})
    assert republish.status_code == 409 and republish.json()["error"]["code"] == "round_frozen"
    async with app.state.runtime.sessionmaker() as s:
        after = await s.get(Round, round_.id)
    assert after.close_at == fresh.close_at and after.prediction_truth == snap["truth"]


async def exported(app, kind: str, round_id: int, path: Path) -> list[tuple]:
    async with app.state.runtime.sessionmaker() as db:
        await EXPORTS[kind].writer(db, round_id, path)
    return path


def table(path: Path, sheet: str, first_header: str) -> tuple[list[str], list[tuple]]:
    ws = load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    h = next(i for i, r in enumerate(rows) if r and r[0] == first_header)
    return list(rows[h]), [r for r in rows[h + 1:] if any(c is not None for c in r)]


async def test_after_freeze_and_a_redis_flush_board_snapshot_and_exports_list_the_same_people(
        factory, app, client, db, redis, tmp_path):
    round_, _, _, people, late, _, snap = await closed_and_frozen(factory, app, client)
    snapshot = await latest_snapshot(db, round_.id)
    frozen = [r async for r in iter_rows(db, snapshot.id)]
    await db.rollback()
    order = [r.attempt_id for r in frozen]
    assert len(order) == 5 == snap["participants"]
    # Redis loses everything; the boards are rebuilt from the database.
    await redis.flushdb()
    board_redis = app.state.runtime.board_redis
    if board_redis is not redis:
        await board_redis.flushdb()
    await rebuild_boards(db, board_redis, round_.id)
    final = RoundBoard(board_redis, BoardKeys(round_.id, FINAL))
    _, lines = await final.page(ALL, 0, 100)
    assert [line.user_id for line in lines] == [r.user_id for r in frozen]
    public = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard?limit=100")).json()
    assert public["phase"] == "final" and public["participants"] == 5
    assert [(x["rank"], x["correct"], x["time_ms"]) for x in public["rows"]] == \
        [(r.position, r.correct, r.time_ms) for r in frozen]
    # The ranking export: the same attempts in the same order.
    header, rows = table(await exported(app, "ranking", round_.id, tmp_path / "r.xlsx"), "Xếp hạng", "Hạng")
    assert [r[header.index("Mã lượt thi")] for r in rows] == order
    # The prize list: the first places of the same order.
    header, rows = table(await exported(app, "prizes", round_.id, tmp_path / "p.xlsx"), "Tất cả giải", "Giải")
    rows = [r for r in rows if r[header.index("Hạng")] is not None]  # not the jury's signature block below
    assert [(r[header.index("Hạng")], r[header.index("Họ và tên")]) for r in rows] == \
        [(r.position, r.full_name) for r in frozen[:len(rows)]] and len(rows) == 4
    # The participants list: everyone who sat the round, each with their frozen rank.
    header, rows = table(await exported(app, "participants", round_.id, tmp_path / "n.xlsx"), "Người dự thi", "STT")
    phones = {p.user["phone"]: p.user["id"] for p in [*people, late]}
    rank_of = {r.user_id: r.position for r in frozen}
    assert sorted((phones[r[header.index("Điện thoại")]], r[header.index("Hạng")]) for r in rows) == \
        sorted(rank_of.items())
    # The collective ranking counts the same people (no one more, no one less).
    header, rows = table(await exported(app, "units", round_.id, tmp_path / "u.xlsx"), "Theo số người dự thi", "Hạng")
    assert sum(r[header.index("Số người dự thi")] for r in rows) == 5


async def test_a_submitted_attempt_always_has_its_submit_time(factory, app, db):
    round_ = await factory.round()
    participant_id = (await factory.participant()).user["id"]
    db.add(Attempt(round_id=round_.id, user_id=participant_id, seq=1, status=SUBMITTED, started_at=utcnow(),
                   deadline=utcnow(), paper=[], total=0, correct=0, time_ms=0, submitted_at=None))
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()


async def test_verify_export_recomputes_the_digest_from_the_file_alone(factory, app, client, tmp_path, capsys):
    round_, _, judge, *_ = await closed_and_frozen(factory, app, client)
    path = await exported(app, "ranking", round_.id, tmp_path / "bang-xep-hang.xlsx")
    assert cli.main(["verify-export", str(path)]) == 0
    assert "KHỚP" in capsys.readouterr().out
    # Any change of a shown value, or of the order, no longer matches.
    for edit in ("score", "swap", "drop"):
        book = load_workbook(path)
        ws = book["Xếp hạng"]
        h = next(r[0].row for r in ws.iter_rows() if r[0].value == "Hạng")
        if edit == "score":
            ws.cell(h + 3, 7).value = ws.cell(h + 3, 7).value + 1
        elif edit == "swap":
            for c in range(2, 14):
                a, b = ws.cell(h + 2, c), ws.cell(h + 3, c)
                a.value, b.value = b.value, a.value
        else:
            ws.delete_rows(h + 5)
        changed = tmp_path / f"{edit}.xlsx"
        book.save(changed)
        assert cli.main(["verify-export", str(changed)]) == 1, edit
        assert "KHÔNG KHỚP" in capsys.readouterr().err
    # A re-grade's new version verifies the same way.
    assert cli.main(["verify-export", str(tmp_path / "missing.xlsx")]) == 1


async def test_regrading_rescores_every_round_that_used_the_question(factory, app, client, db):
    """A 10-question bank and 10-question papers: every attempt of every round has every question."""
    contest = await factory.contest(questions=10)
    judge = await make_staff(app, client, roles={contest.id: "judge"})
    frozen_a, frozen_b, running = [await factory.round(contest=contest, questions_per_attempt=10) for _ in range(3)]
    people = [await factory.participant() for _ in range(3)]
    for r in (frozen_a, frozen_b, running):
        for right, p in zip((10, 6, 2), people):
            await take_attempt(p, r.id, right, prediction=1)
    for r in (frozen_a, frozen_b):
        async with app.state.runtime.sessionmaker() as s:
            (await s.get(Round, r.id)).close_at = utcnow() - timedelta(seconds=5)
            await s.commit()
        app.state.runtime.caches.rounds.clear()
        assert (await judge.call("POST", f"/api/v1/admin/rounds/{r.id}/close", json={})).status_code == 201
    from app.questions.models import Option
    question_id = (await db.scalar(select(Attempt).where(Attempt.round_id == frozen_a.id))).paper[0][0]
    wrong = await db.scalar(select(Option.id).where(Option.question_id == question_id, Option.is_correct.is_(False)))
    await db.rollback()
    regraded = await judge.call("POST", f"/api/v1/admin/rounds/{frozen_a.id}/regrade",
                                json={"question_id": question_id, "correct_option_id": wrong, "note": "Đáp án sai"})
    assert regraded.status_code == 201, regraded.text
    body = regraded.json()
    assert body["version"] == 2
    assert {(r["round_id"], r["rescored_attempts"], r["snapshot_version"]) for r in body["rounds"]} == \
        {(frozen_a.id, 3, 2), (frozen_b.id, 3, 2), (running.id, 3, None)}
    # Every submitted attempt of every round is scored with the new key...
    async with app.state.runtime.sessionmaker() as s:
        for a in (await s.scalars(select(Attempt).where(Attempt.round_id.in_([frozen_a.id, frozen_b.id, running.id])))).all():
            from app.attempts.models import AttemptAnswer
            recount = await s.scalar(select(func.count()).select_from(AttemptAnswer)
                                     .join(Option, Option.id == AttemptAnswer.option_id)
                                     .where(AttemptAnswer.attempt_id == a.id, Option.is_correct.is_(True)))
            assert a.correct == recount
        # ...the other frozen round has a new, intact version whose rows say so, and its public
        # final board follows the new version; each round has its audit entry.
        snap_b = await latest_snapshot(s, frozen_b.id)
        assert snap_b.version == 2 and snap_b.reason == "regrade" and await verify(s, snap_b)
        rows_b = [r async for r in iter_rows(s, snap_b.id)]
        stored = {a.id: a.correct for a in (await s.scalars(select(Attempt).where(Attempt.round_id == frozen_b.id))).all()}
        assert all(r.correct == stored[r.attempt_id] for r in rows_b)
    board = (await client.get(f"/api/v1/rounds/{frozen_b.id}/leaderboard?limit=10")).json()
    assert [(x["rank"], x["correct"]) for x in board["rows"]] == [(r.position, r.correct) for r in rows_b]
    log = (await judge.call("GET", f"/api/v1/admin/contests/{contest.id}/audit")).json()
    assert {e["round_id"] for e in log if e["action"] == "question.regrade"} == {frozen_a.id, frozen_b.id, running.id}


async def test_collective_rankings_group_units_by_a_normalized_key_and_never_rank_people_without_one(
        factory, app, client, redis, tmp_path):
    round_ = await factory.round(questions_per_attempt=10)
    async with app.state.runtime.sessionmaker() as s:
        from app.contests.lists import name_key
        from app.contests.models import ContestUnit
        s.add(ContestUnit(contest_id=round_.contest_id, name="Sở Tư pháp", name_key=name_key("Sở Tư pháp"),
                          province="Hà Nội"))
        await s.commit()
    for unit, right in (("sở tư pháp", 9), ("Sở  Tư Pháp", 8), ("SỞ TƯ PHÁP ", 7), ("Sở Y tế", 10),
                        ("", 5), ("", 4), ("", 3), ("", 2)):
        await take_attempt(await factory.participant(unit=unit), round_.id, right, prediction=1)

    async def check_board():
        groups = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard/units")).json()["groups"]
        assert sorted((g["name"], g["participants"]) for g in groups) == [("Sở Tư pháp", 3), ("Sở Y tế", 1)]
        board = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard", params={"unit": "sở tư  pháp"})).json()
        assert [r["correct"] for r in board["rows"]] == [9, 8, 7]

    await check_board()
    await redis.flushdb()
    if app.state.runtime.board_redis is not redis:
        await app.state.runtime.board_redis.flushdb()
    async with app.state.runtime.sessionmaker() as s:
        await rebuild_boards(s, app.state.runtime.board_redis, round_.id)
    await check_board()
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})  # sessions went with the flush
    async with app.state.runtime.sessionmaker() as s:
        (await s.get(Round, round_.id)).close_at = utcnow() - timedelta(seconds=5)
        await s.commit()
    app.state.runtime.caches.rounds.clear()
    assert (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})).status_code == 201
    header, rows = table(await exported(app, "units", round_.id, tmp_path / "u.xlsx"), "Theo số người dự thi", "Hạng")
    shown = [(r[0], r[1], r[header.index("Số người dự thi")]) for r in rows]
    # The four people without a unit are the biggest "group", yet listed apart, last, unranked.
    assert shown == [(1, "Sở Tư pháp", 3), (2, "Sở Y tế", 1),
                     (None, "(không ghi đơn vị — không xếp hạng tập thể)", 4)]
    # Participation statistics group units the same way.
    header, rows = table(await exported(app, "participation", round_.id, tmp_path / "t.xlsx"), "Theo đơn vị", "Đơn vị")
    assert sorted((r[0], r[1]) for r in rows) == [("(không ghi đơn vị)", 4), ("Sở Tư pháp", 3), ("Sở Y tế", 1)]



async def test_a_snapshot_frozen_in_the_old_format_keeps_verifying_by_its_own_format(factory, app, tmp_path, capsys):
    """Snapshots frozen before format 2 hashed rows with user ids: their digest never changes,
    the app still verifies them, and verify-export says such a file is checked in the app."""
    from app.judging.models import RankingSnapshot, SnapshotRow
    from app.judging.snapshots import canonical_row, digest_of
    from app.leaderboard.ranking import RankedEntry

    round_ = await factory.round()
    entries = [RankedEntry(position=i, user_id=100 + i, full_name=f"Người {i}", unit="Sở Y tế", province="Huế",
                           district=None, commune=None, attempt_id=900 + i, correct=10 - i, total=10, prediction=3,
                           distance=1, time_ms=60_000 + i, submitted_at=utcnow()) for i in (1, 2)]
    payloads = [canonical_row(e) for e in entries]
    async with app.state.runtime.sessionmaker() as s:
        old = RankingSnapshot(round_id=round_.id, version=1, reason="close", truth=2, suggested_truth=2, row_count=2,
                              canonical_format=1, digest=digest_of(round_.id, 1, 2, payloads), created_by_name="cũ")
        s.add(old)
        await s.flush()
        await s.execute(SnapshotRow.__table__.insert(),
                        [{"snapshot_id": old.id, "position": i + 1, "payload": p} for i, p in enumerate(payloads)])
        await s.commit()
        assert await verify(s, old)
    path = await exported(app, "ranking", round_.id, tmp_path / "cu.xlsx")
    assert cli.main(["verify-export", str(path)]) == 1
    assert "định dạng 1" in capsys.readouterr().err
