"""Rebuilding the boards from the database: CLI, API and the staff button; after FLUSHDB the
order is identical; submits racing a rebuild are not lost."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone

from app.leaderboard.board import FINAL, LIVE, BoardKeys, RoundBoard, Scope
from app.leaderboard.ordering import best_per_user, live_key
from app.leaderboard.ranking import load_results
from app.leaderboard.rebuild import rebuild_boards, rebuild_live_board, record_closed_attempt
from tests.leaderboard.conftest import make_staff
from tests.live import run_app_command

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


async def seed_with_ties(seed, round_id: int, participants: int, rng: random.Random) -> list[int]:
    """Participants with one or two attempts, tied on correct, time and submission time often."""
    attempt_ids = []
    units = ["Sở Tư pháp", "Sở Y tế", "Công an tỉnh", None]
    for i in range(participants):
        user = await seed.user(full_name=f"Nguyễn Thị Mai {i}", unit=rng.choice(units),
                               province=rng.choice(["Hà Nội", "Nghệ An", None]))
        for _ in range(rng.choice([1, 1, 2])):
            attempt_ids.append(await seed.attempt(
                round_id, user, rng.randrange(8, 11), rng.choice([30_000, 30_001, 45_000]),
                submitted_at=T0 + timedelta(milliseconds=rng.choice([0, 1, 2])), prediction=rng.randrange(5)))
    return attempt_ids


async def snapshot(redis, round_id: int, kind: str = LIVE) -> dict:
    """Everything a reader can see of a board: each scope's order and rows, and the counts."""
    board = RoundBoard(redis, BoardKeys(round_id, kind))
    rows = await redis.hgetall(board.keys.rows)
    scopes = {"all": await board.members()}
    for kind_ in ("unit", "province"):
        total, groups = await board.groups(kind_, 0, 100)
        scopes[kind_] = groups
        for name, _ in groups:
            scopes[(kind_, name)] = await board.members(Scope(kind_, name))
    return {"rows": rows, "scopes": scopes}


def expected_users(results) -> list[int]:
    return [r.user_id for r in sorted(best_per_user(results, live_key).values(), key=live_key)]


async def test_cli_rebuild_after_flushdb_gives_the_identical_board(factory, seed, db, redis):
    round_ = await factory.round()
    rng = random.Random(7)
    for attempt_id in await seed_with_ties(seed, round_.id, 40, rng):
        await record_closed_attempt(db, redis, attempt_id)  # what every submit does
    before = await snapshot(redis, round_.id)
    assert [int(m.rsplit(":", 1)[1]) for m in before["scopes"]["all"]] == expected_users(
        await load_results(db, round_.id))
    await db.commit()  # (SQLite: a test's open transaction would hold the write lock)

    await redis.flushdb()
    assert await RoundBoard(redis, BoardKeys(round_.id, LIVE)).size() == 0
    done = await run_app_command("rebuild-board", "--round", str(round_.id))
    assert done.returncode == 0, done.stderr
    assert "40 người dự thi" in done.stdout
    assert await snapshot(redis, round_.id) == before

    missing = await run_app_command("rebuild-board", "--round", "987654321")
    assert missing.returncode == 1 and "Không tìm thấy đợt thi" in missing.stderr


async def test_rebuild_on_the_cluster_after_flushall_gives_the_identical_boards(factory, seed, db, cluster):
    round_ = await factory.round(open_at=T0 - timedelta(days=1), close_at=T0 + timedelta(days=1))
    await seed_with_ties(seed, round_.id, 30, random.Random(8))
    from sqlalchemy import update

    from app.contests.models import Round
    await db.execute(update(Round).where(Round.id == round_.id).values(prediction_truth=2))
    await db.commit()
    report = await rebuild_boards(db, cluster, round_.id)
    assert (report.live_participants, report.final_participants) == (30, 30)
    live, final = await snapshot(cluster, round_.id), await snapshot(cluster, round_.id, FINAL)
    await cluster.flushall()
    await rebuild_boards(db, cluster, round_.id)
    assert await snapshot(cluster, round_.id) == live
    assert await snapshot(cluster, round_.id, FINAL) == final


async def test_submits_racing_a_rebuild_are_not_lost(factory, seed, db, app, redis, monkeypatch):
    """A submit committed after the rebuild read the database but recorded before the rebuilt
    board is swapped in lands on the old keys: the rebuild must still end up with it. The race is
    forced (a submit slipped in at exactly that moment), then left to chance with rebuilds
    running back to back while submits go on."""
    round_ = await factory.round()
    rng = random.Random(9)
    await seed_with_ties(seed, round_.id, 100, rng)
    counter = iter(range(10**6))

    async def submit_one():
        user = await seed.user(full_name=f"Trần Văn Muộn {next(counter)}")
        attempt_id = await seed.attempt(round_.id, user, rng.randrange(8, 11), 20_000 + rng.randrange(100))
        async with app.state.runtime.sessionmaker() as own:
            await record_closed_attempt(own, redis, attempt_id)

    original = RoundBoard.replace_all

    async def replace_all_after_a_submit(self, entries, meta=None):
        await submit_one()  # committed after the rebuild's read, recorded on the old keys
        await original(self, entries, meta)

    monkeypatch.setattr(RoundBoard, "replace_all", replace_all_after_a_submit)
    assert await rebuild_live_board(db, redis, round_.id) == 101
    monkeypatch.setattr(RoundBoard, "replace_all", original)
    members = await RoundBoard(redis, BoardKeys(round_.id, LIVE)).members()
    assert [int(m.rsplit(":", 1)[1]) for m in members] == expected_users(await load_results(db, round_.id))
    await db.commit()  # (SQLite: a test's open transaction would hold the write lock)

    finished = asyncio.Event()

    async def submits():
        for _ in range(40):
            await submit_one()
        finished.set()

    async def rebuilds():
        while not finished.is_set():
            async with app.state.runtime.sessionmaker() as own:
                await rebuild_live_board(own, redis, round_.id)

    await asyncio.gather(submits(), rebuilds())
    members = await RoundBoard(redis, BoardKeys(round_.id, LIVE)).members()
    assert [int(m.rsplit(":", 1)[1]) for m in members] == expected_users(await load_results(db, round_.id))
    assert len(members) == 141


async def test_rebuild_through_the_api_and_the_staff_button(factory, seed, client, redis):
    round_ = await factory.round()
    await seed_with_ties(seed, round_.id, 5, random.Random(10))
    participant = await factory.participant()
    url = f"/api/v1/rounds/{round_.id}/leaderboard/rebuild"
    assert (await participant.call("POST", url)).status_code == 403
    assert (await client.post(url)).status_code == 401
    staff = await factory.participant()
    await make_staff(factory.app, staff.user["id"])
    done = await staff.call("POST", url)
    assert done.status_code == 200
    assert done.json() == {"round_id": round_.id, "live_participants": 5, "final_participants": None}
    # A rebuild already running (its lock held) is not doubled: two would swap into each other.
    lock = BoardKeys(round_.id, LIVE).lock
    await redis.set(lock, "another rebuild", ex=60)
    busy = await staff.call("POST", url)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "board_rebuild_in_progress"
    assert await redis.get(lock) == "another rebuild"  # not released by the refused one
    await redis.delete(lock)

    # The button on the board page: a form post with the CSRF token, shown only to staff.
    await redis.flushdb()
    staff = await factory.participant()  # (flushdb ended the earlier sessions)
    await make_staff(factory.app, staff.user["id"])
    page = await staff.call("GET", f"/rounds/{round_.id}/leaderboard")
    # The flushed board healed itself from the database on this read (app/leaderboard/rebuild.py, repair_if_lost).
    assert "Dựng lại bảng xếp hạng" in page.text and page.text.count('class="lb-rank"') == 5
    plain = await factory.participant()
    assert "Dựng lại bảng xếp hạng" not in (await plain.call("GET", f"/rounds/{round_.id}/leaderboard")).text
    client.cookies.set("csrftoken", "t0ken")
    refused = await staff.call("POST", f"/rounds/{round_.id}/leaderboard/rebuild", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    pressed = await staff.call("POST", f"/rounds/{round_.id}/leaderboard/rebuild", data={"csrf_token": "t0ken"})
    client.cookies.clear()
    assert pressed.status_code == 303
    shown = await staff.call("GET", pressed.headers["location"])
    assert "Đã dựng lại bảng xếp hạng từ cơ sở dữ liệu: 5 người dự thi." in shown.text
    assert shown.text.count('class="lb-rank"') == 5
