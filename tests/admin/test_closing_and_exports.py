"""Closing a round (judge confirms T, frozen SHA-256 snapshot, immutable, re-grade = new
snapshot) and the Excel exports built from it."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text, update

from app.attempts.models import Attempt
from app.core.clock import VN_TZ
from app.exports import jobs
from app.judging import canonical
from app.judging.models import RankingSnapshot, SnapshotRow
from app.judging.snapshots import verify
from app.leaderboard.ranking import final_ranking
from app.questions.models import Option
from tests.admin.helpers import end_round_now, make_staff, take_attempt


async def closed_round(factory, app, client):
    round_ = await factory.round(questions_per_attempt=10, prediction_enabled=True)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    people = []
    for right, name in ((10, "=HYPERLINK(\"http://x\",\"bấm\")"), (10, "Trần Thị Bình"), (7, "@Lê Văn Cường"), (3, "Phạm Dũng")):
        p = await factory.participant(full_name=name.replace("=", "").replace("@", "") if False else "Nguyễn Văn A",
                                      unit="+Sở Tư pháp" if right == 3 else "Sở Giáo dục và Đào tạo")
        people.append((p, right))
    async with app.state.runtime.sessionmaker() as db:
        from app.accounts.models import User

        await db.execute(update(User).where(User.id == people[0][0].user["id"]).values(full_name="=HYPERLINK(\"http://x\",\"bấm\")"))
        await db.commit()
    for i, (p, right) in enumerate(people):
        await take_attempt(p, round_.id, right, prediction=2 if i == 1 else 5)
    await end_round_now(app, round_.id)
    return round_, judge, people


async def test_judge_closes_a_round_into_a_frozen_snapshot_that_later_edits_cannot_change(factory, app, client, db, is_postgres):
    round_, judge, people = await closed_round(factory, app, client)
    closing = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": 2, "note": "Chốt tuần 1"})
    assert closing.status_code == 201, closing.text
    snap = closing.json()
    assert snap["truth"] == 2 and snap["suggested_truth"] == 2 and snap["participants"] == 4
    ranking = await final_ranking(db, round_.id, 2)
    await db.rollback()  # SQLite: every transaction holds the write lock, so end the test's own
    # The digest is the documented SHA-256 of the canonical rows; the order follows the rules (T = 2).
    assert snap["digest"] == canonical.digest(round_.id, 1, 2, [canonical.row_of(e) for e in ranking])
    assert ranking[0].user_id == people[1][0].user["id"]  # prediction 2 = T beats prediction 5 at 10/10
    again = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": 3})
    assert again.status_code == 409
    # Later edits to attempts do not move the frozen ranking...
    await db.execute(update(Attempt).where(Attempt.round_id == round_.id).values(correct=0))
    await db.commit()
    snapshot = await db.get(RankingSnapshot, snap["id"])
    assert await verify(db, snapshot)
    rows = (await db.scalars(select(SnapshotRow.payload).where(SnapshotRow.snapshot_id == snapshot.id)
                             .order_by(SnapshotRow.position))).all()
    assert '"correct":10' in rows[0]
    await db.commit()
    # ...and the database refuses to alter the snapshot itself.
    with pytest.raises(Exception):
        await db.execute(text("UPDATE ranking_snapshot_rows SET payload = '{}' WHERE snapshot_id = :i"), {"i": snapshot.id})
        await db.commit()
    await db.rollback()
    with pytest.raises(Exception):
        await db.execute(text("DELETE FROM ranking_snapshots WHERE id = :i"), {"i": snapshot.id})
        await db.commit()
    await db.rollback()


async def test_closing_is_refused_while_the_round_is_open(factory, app, client):
    round_ = await factory.round()
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    response = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": 0})
    assert response.status_code == 409 and response.json()["error"]["code"] == "round_not_closed"


async def test_regrading_a_wrong_question_creates_a_new_snapshot_and_keeps_the_old(factory, app, client, db):
    round_, judge, people = await closed_round(factory, app, client)
    first = (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})).json()
    # Regrade: a question the top two answered right becomes keyed on a wrong option.
    attempt = await db.scalar(select(Attempt).where(Attempt.user_id == people[1][0].user["id"]))
    question_id = attempt.paper[0][0]
    wrong = await db.scalar(select(Option.id).where(Option.question_id == question_id, Option.is_correct.is_(False)))
    await db.rollback()
    refused = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/regrade",
                               json={"question_id": question_id, "correct_option_id": wrong, "note": ""})
    assert refused.status_code == 422
    second = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/regrade",
                              json={"question_id": question_id, "correct_option_id": wrong, "note": "Đáp án câu 1 sai"})
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 2 and second.json()["digest"] != first["digest"]
    listed = (await judge.call("GET", f"/api/v1/admin/rounds/{round_.id}/snapshots")).json()
    assert [s["version"] for s in listed] == [2, 1] and all(s["intact"] for s in listed)
    assert listed[1]["digest"] == first["digest"]


def sheet_text(ws) -> str:
    return "\n".join(" ".join(str(c) for c in row if c is not None) for row in ws.iter_rows(values_only=True))


async def export(judge, round_id: int, kind: str, app):
    started = await judge.call("POST", f"/api/v1/admin/rounds/{round_id}/exports/{kind}")
    assert started.status_code == 202, started.text
    job = await jobs.wait(app.state.runtime, started.json()["job_id"])
    status = (await judge.call("GET", started.json()["status_url"])).json()
    assert status["status"] == "done", status
    response = await judge.call("GET", status["download_url"])
    assert response.status_code == 200 and job.filename.endswith(".xlsx")
    return load_workbook(io.BytesIO(response.content))


async def test_exports_are_readable_safe_and_carry_the_digest(factory, app, client):
    round_, judge, people = await closed_round(factory, app, client)
    snap = (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": 2})).json()
    book = await export(judge, round_.id, "ranking", app)
    ws = book.active
    assert snap["digest"] in sheet_text(ws)
    h = header_row(ws, "Hạng")
    assert ws.freeze_panes == f"A{h + 1}"
    header = [c.value for c in ws[h]]
    assert header[:3] == ["Hạng", "Họ và tên", "Đơn vị"] and "Chênh lệch dự đoán" in header
    assert ws.auto_filter.ref == f"A{h}:M{h + 4}"
    assert ws.column_dimensions["B"].width >= 20
    names = {ws.cell(row=r, column=2).value: ws.cell(row=r, column=2) for r in range(h + 1, h + 5)}
    hostile = names['=HYPERLINK("http://x","bấm")']
    assert hostile.data_type == "s" and hostile.quotePrefix  # shown as typed, never evaluated
    assert "giờ Việt Nam (UTC+7)" in sheet_text(ws)
    async with app.state.runtime.sessionmaker() as db:
        first_attempt = await db.scalar(select(Attempt).where(Attempt.id == ws.cell(row=h + 1, column=13).value))
    shown = ws.cell(row=h + 1, column=12)
    assert shown.is_date and shown.number_format == "dd/mm/yyyy hh:mm:ss"
    local = first_attempt.submitted_at.astimezone(VN_TZ).replace(tzinfo=None)
    assert abs((shown.value - local).total_seconds()) < 0.01  # Vietnamese wall-clock time
    assert [ws.cell(row=r, column=1).value for r in range(h + 1, h + 5)] == [1, 2, 3, 4]

    prizes = await export(judge, round_.id, "prizes", app)
    assert prizes.sheetnames[:2] == ["Tất cả giải", "Giải Nhất"]
    first = prizes["Giải Nhất"]
    assert first.cell(row=header_row(first, "Giải") + 1, column=2).value == 1
    assert snap["digest"] in sheet_text(first)

    units = await export(judge, round_.id, "units", app)
    ws = units["Theo số người dự thi"]
    h = header_row(ws, "Hạng")
    assert ws.cell(row=h + 1, column=2).value == "Sở Giáo dục và Đào tạo" and ws.cell(row=h + 1, column=4).value == 3
    unit_cell = ws.cell(row=h + 2, column=2)
    assert unit_cell.value == "+Sở Tư pháp" and unit_cell.quotePrefix

    stats = await export(judge, round_.id, "participation", app)
    assert stats.sheetnames == ["Theo tỉnh", "Theo huyện", "Theo đơn vị", "Theo ngày"]
    ws = stats["Theo tỉnh"]
    h = header_row(ws, "Tỉnh/Thành phố")
    assert ws.cell(row=h + 1, column=1).value == "Hà Nội" and ws.cell(row=h + 1, column=2).value == 4

    questions = await export(judge, round_.id, "questions", app)
    ws = questions.active
    h = header_row(ws, "STT")
    header = [c.value for c in ws[h]]
    assert "Độ phân biệt (D)" in header and "Số lượt chọn A" in header
    rows = list(ws.iter_rows(min_row=h + 1, values_only=True))
    assert sum(r[6] for r in rows) == 40  # 4 attempts x 10 questions seen
    assert all(r[7] == r[11 + "ABCDEF".index(r[5])] for r in rows)  # right answers = choices of the key
    assert header[-1] == "Nguồn" and all(r[-1].startswith("Văn kiện mẫu, mục ") for r in rows)  # staff see sources

    listing = await export(judge, round_.id, "participants", app)
    h = header_row(listing.active, "STT")
    assert "Số CCCD" in [c.value for c in listing.active[h]] and listing.active.max_row == h + 4


def header_row(ws, first: str) -> int:
    return next(r for r in range(1, 15) if ws.cell(row=r, column=1).value == first)


async def test_ranking_export_needs_a_frozen_snapshot(factory, app, client):
    round_, judge, _ = await closed_round(factory, app, client)
    started = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/exports/ranking")
    job = await jobs.wait(app.state.runtime, started.json()["job_id"])
    assert job.status == "failed" and "chưa được Ban giám khảo chốt" in job.error



async def test_cli_export_writes_the_file_with_a_progress_bar(factory, app, client, tmp_path):
    from tests.live import run_app_command

    round_, judge, _ = await closed_round(factory, app, client)
    assert (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})).status_code == 201
    out = tmp_path / "bxh.xlsx"
    run = await run_app_command("export", "ranking", "--round", str(round_.id), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "Bảng xếp hạng chung cuộc [" in run.stderr and "4/4 (100%)" in run.stderr
    assert "Đã xuất 4 dòng" in run.stdout
    ws = load_workbook(out).active
    assert any(ws.cell(row=r, column=1).value == "Hạng" for r in range(1, 12))
    missing = await run_app_command("export", "prizes", "--round", "999999", "--out", str(tmp_path / "x.xlsx"))
    assert missing.returncode == 1 and "Không tìm thấy đợt thi" in missing.stderr


async def test_an_export_whose_worker_died_for_good_is_reported_as_failed(factory, app, client):
    """A job the queue no longer runs (every attempt's worker died) must not spin forever: the
    page and the API say it failed, in Vietnamese, and offer to export again."""
    from datetime import timedelta

    from app.core.clock import utcnow
    from app.exports.models import ExportJobRecord

    round_ = await factory.round()
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    silent = utcnow() - timedelta(seconds=3 * app.state.runtime.settings.job_heartbeat_seconds
                                  + 3 * app.state.runtime.settings.jobs_sweep_seconds)
    async with app.state.runtime.sessionmaker() as db:
        for job_id, created in (("lost-job", silent), ("stale-job", utcnow() - timedelta(seconds=jobs.STALE_SECONDS + 1))):
            db.add(ExportJobRecord(id=job_id, kind="ranking", round_id=round_.id, user_id=judge.user_id,
                                   status="running", attempts=3, done=10, total=100, filename="x.xlsx", display="",
                                   error="", size=0, created_at=created, updated_at=silent,
                                   expires_at=utcnow() + timedelta(hours=1)))
        await db.commit()
    for job_id in ("lost-job", "stale-job"):
        job = await jobs.get(app.state.runtime, job_id)
        assert job.status == "failed" and "Hãy xuất lại" in job.error
        status = (await judge.call("GET", f"/api/v1/admin/exports/{job_id}")).json()
        assert status["status"] == "failed" and "Hãy xuất lại" in status["error"] and status["download_url"] is None
        page = await judge.call("GET", f"/admin/exports/{job_id}")
        assert "Không xuất được tệp" in page.text and "Hãy xuất lại" in page.text and 'http-equiv="refresh"' not in page.text
