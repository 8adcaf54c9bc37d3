"""Large bank uploads go through the job queue (issue 17, item 1): stored in the database, imported
by a worker with the same all-or-nothing rule and the same report, shown on a page that refreshes
itself (no JavaScript) and through an API resource to poll, from any app host; a re-run of the
job never imports twice, and a job that fails for good says so. Both backends (the test app runs
its own worker: JOBS_IN_PROCESS=1)."""
from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select, update

from app.core.clock import utcnow
from app.jobs.queue import JobQueue
from app.questions import bank, import_jobs
from app.questions.models import BankImport, BankImportFile
from app.staff.models import AuditEntry
from app.staff.roles import StaffAccess
from tests.questions.helpers import count_questions, make_staff, questions, row, xlsx
from tests.questions.test_bank_pages import csrf_of, log_in


def big_csv(count: int) -> bytes:
    """A CSV bank over the default IMPORT_IN_REQUEST_MAX_BYTES (1 MB) with `count` questions."""
    lines = ["STT,Câu hỏi,Phương án A,Phương án B,Phương án C,Phương án D,Đáp án,Chủ đề,Mức độ,Giải thích,Nguồn"]
    filler = "nội dung trích từ văn kiện để câu hỏi đủ dài như ngân hàng thật của ban tổ chức"
    for i in range(1, count + 1):
        lines.append(f'{i},"Câu hỏi lớn số {i}: {filler}?",Đúng {i},Sai {i} thứ nhất,Sai {i} thứ hai,'
                     f'Sai {i} thứ ba,{"ABCD"[i % 4]},Chủ đề {i % 7},Dễ,,Văn kiện trang {i}')
    return "\n".join(lines).encode()


async def files_left(db, import_id: str) -> int:
    count = await db.scalar(select(func.count()).select_from(BankImportFile).where(BankImportFile.import_id == import_id))
    await db.rollback()
    return count


@pytest.fixture
def small_threshold(app, monkeypatch):
    """Queue any upload over 2 KB, so that a test's few dozen rows go through the worker."""
    monkeypatch.setattr(app.state.runtime.settings, "import_in_request_max_bytes", 2_000)


async def test_a_large_upload_is_imported_by_the_worker_on_a_page_that_refreshes_itself(app, factory, db):
    contest = await factory.contest(questions=0)
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with browser:
        await log_in(browser, factory, app, contest.id)
        bank_page = await browser.get(f"/admin/contests/{contest.id}/bank")
        data = big_csv(6_000)
        assert len(data) > app.state.runtime.settings.import_in_request_max_bytes
        upload = await browser.post(f"/admin/contests/{contest.id}/bank/import",
                                    data={"csrf_token": csrf_of(bank_page.text)},
                                    files={"file": ("ngan-hang-lon.csv", data)})
        assert upload.status_code == 303
        status_url = upload.headers["location"]
        assert re.fullmatch(rf"/admin/contests/{contest.id}/bank/imports/[\w-]+", status_url)

        # Seconds of reading for 6,000 rows: the first look finds it waiting or under way.
        first = await browser.get(status_url)
        assert first.status_code == 200
        assert '<meta http-equiv="refresh"' in first.text and 'id="import-status"' in first.text
        assert "Chưa có câu hỏi nào" not in first.text

        for _ in range(600):  # what the browser does on its own, every 2 s
            shown = await browser.get(status_url)
            if 'http-equiv="refresh"' not in shown.text:
                break
            await asyncio.sleep(0.2)
        assert "Đã nhập 6.000 câu hỏi mới từ tệp ngan-hang-lon.csv" in shown.text, shown.text[-3000:]
        assert 'id="quality"' in shown.text  # the same report as an upload in the request
    assert await count_questions(db, contest.id) == 6_000
    assert await files_left(db, status_url.rsplit("/", 1)[1]) == 0  # the upload is not kept once imported


async def test_a_bad_large_upload_imports_nothing_and_shows_every_row_error(app, factory, db, small_threshold):
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    rows = questions(60)
    rows[9] = row(10, "Câu hỏi thiếu đáp án?", answer="")
    rows[41] = row(42, "Câu hỏi có đáp án lạ?", answer="G")
    response = await organizer.call("POST", f"/api/v1/contests/{contest.id}/bank/imports",
                                    files={"file": ("ngan-hang.xlsx", xlsx(rows))})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and response.headers["location"] == body["status_url"]

    job = await import_jobs.wait(app.state.runtime, body["id"], timeout=120)
    status = (await organizer.call("GET", body["status_url"])).json()
    assert status["status"] == "done" and status["ok"] is False, status
    problems = [(p["row"], p["column"]) for p in status["report"]["problems"]]
    assert problems == [(11, "Đáp án"), (43, "Đáp án")]
    assert status["report"]["summary"].startswith("Không nhập được tệp ngan-hang.xlsx: có 2 lỗi cần sửa")
    assert await count_questions(db, contest.id) == 0 and job.ok is False

    # The organizer's page of the same import: the same table as an upload in the request.
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with browser:
        await log_in(browser, factory, app, contest.id)
        shown = await browser.get(f"/admin/contests/{contest.id}/bank/imports/{body['id']}")
    assert "<td>11</td><td>Đáp án</td>" in shown.text and "<td>43</td><td>Đáp án</td>" in shown.text
    assert "Chưa có câu hỏi nào được ghi vào ngân hàng" in shown.text and 'http-equiv="refresh"' not in shown.text

    # Another contest's organizer does not see it; a judge of this one may not import.
    other = await factory.contest(questions=0)
    stranger = await make_staff(app, factory, other.id)
    assert (await stranger.call("GET", body["status_url"])).status_code == 403
    assert (await stranger.call("GET", f"/api/v1/contests/{other.id}/bank/imports/{body['id']}")).status_code == 404


async def test_a_queued_import_is_followed_from_another_app_host(app, factory, db, settings, small_threshold):
    """Two app instances share the database and Redis; the second runs no worker. The upload
    goes to one, its status is read from the other, and the questions are there."""
    from app.main import create_app

    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    # Its own VAR_DIR; the same database (on SQLite: the same file, named explicitly) and Redis.
    other_settings = settings.model_copy(update={"jobs_in_process": "0", "var_dir": Path(tempfile.mkdtemp(prefix="ttn-b-")),
                                                 "database_url": settings.effective_database_url})
    host_b = create_app(other_settings)
    async with host_b.router.lifespan_context(host_b):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host_b), base_url="http://host-b",
                                     headers=organizer.headers) as on_b:
            response = await on_b.post(f"/api/v1/contests/{contest.id}/bank/imports",
                                       files={"file": ("ngan-hang.xlsx", xlsx(questions(80)))},
                                       data={"dry_run": "false"})
            assert response.status_code == 202, response.text
            url = response.json()["status_url"]
            for _ in range(600):
                # Host A (which runs the worker) and host B answer the same.
                seen = [(await organizer.call("GET", url)).json(), (await on_b.get(url)).json()]
                if all(s["status"] not in ("queued", "running") for s in seen):
                    break
                await asyncio.sleep(0.2)
    assert seen[0]["status"] == seen[1]["status"] == "done" and seen[0]["ok"] and seen[1]["report"]["added"] == 80
    assert await count_questions(db, contest.id) == 80


def detached_queue_runtime(app) -> SimpleNamespace:
    """What import_jobs.start uses, with a queue no worker listens to: the test runs the job
    itself, as often and as concurrently as a worker crash or a slow worker would."""
    settings = app.state.runtime.settings.model_copy(update={"jobs_queue": "none-" + secrets.token_hex(4)})
    return SimpleNamespace(sessionmaker=app.state.runtime.sessionmaker, settings=settings, jobs=JobQueue(settings))


async def queued_import(app, contest_id: int, data: bytes, runtime=None) -> tuple[SimpleNamespace, str]:
    runtime = runtime or detached_queue_runtime(app)
    queue = JobQueue(runtime.settings)  # a pool is not reopened once closed: one per use
    await queue.connect()
    try:
        async with app.state.runtime.sessionmaker() as session:
            import_id = await import_jobs.start(SimpleNamespace(**{**vars(runtime), "jobs": queue}), session, contest_id,
                                                data, "ngan-hang.xlsx",
                                                StaffAccess(user_id=None, name="Ban tổ chức", is_admin=False))
    finally:
        await queue.close()
    return runtime, import_id


async def no_heartbeat() -> None:
    pass


async def test_a_rerun_of_an_import_job_never_imports_twice(app, factory, db, monkeypatch):
    contest = await factory.contest(questions=0)
    data = xlsx(questions(1_200))  # three chunks of inserts
    runtime, import_id = await queued_import(app, contest.id, data)
    sessionmaker, settings = app.state.runtime.sessionmaker, runtime.settings

    # A worker dies in the middle of writing (after the first chunk of questions): nothing of
    # it is kept, and the job stays "running" for the queue to retry.
    real_write = bank.write_questions

    async def write_then_die(db_, contest_id, parsed, report, progress=None, commit=True):
        def dying(done, total):
            if done:
                raise RuntimeError("worker killed mid-import")
        return await real_write(db_, contest_id, parsed, report, progress=dying, commit=commit)

    with monkeypatch.context() as patched:
        patched.setattr(bank, "write_questions", write_then_die)
        with pytest.raises(RuntimeError):
            await import_jobs.run(sessionmaker, settings, import_id, no_heartbeat, last_attempt=False)
    assert await count_questions(db, contest.id) == 0
    job = await import_jobs.get(runtime, import_id)
    assert job.status == "running" and job.attempts == 1

    # The retry imports everything, once; a further run (the queue thought the finished job
    # lost) changes nothing and keeps the report.
    assert await import_jobs.run(sessionmaker, settings, import_id, no_heartbeat, last_attempt=False) == "done"
    assert await import_jobs.run(sessionmaker, settings, import_id, no_heartbeat, last_attempt=True) == "done"
    job = await import_jobs.get(runtime, import_id)
    assert job.status == "done" and job.ok and job.attempts == 2 and job.report.added == 1_200
    assert await count_questions(db, contest.id) == 1_200

    # Two attempts at once (a slow worker and the one it was handed to): one imports, the other
    # finds it done; the report still says what was added.
    second_contest = await factory.contest(questions=0)
    _, twice = await queued_import(app, second_contest.id, data, runtime)
    results = await asyncio.gather(*(import_jobs.run(sessionmaker, settings, twice, no_heartbeat, last_attempt=False)
                                     for _ in range(2)))
    assert results == ["done", "done"]
    job = await import_jobs.get(runtime, twice)
    assert job.ok and job.report.added == 1_200 and not job.report.duplicates_in_bank
    assert await count_questions(db, second_contest.id) == 1_200
    async with app.state.runtime.sessionmaker() as session:
        audits = await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.contest_id == second_contest.id, AuditEntry.action == "bank.import"))
    assert audits == 1


async def test_an_import_job_that_fails_for_good_says_so(app, factory, db, monkeypatch):
    contest = await factory.contest(questions=0)
    organizer_browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    runtime, crashed = await queued_import(app, contest.id, xlsx(questions(5)))

    async def crash(*args, **kwargs):
        raise RuntimeError("a bug, every time")

    with monkeypatch.context() as patched:
        patched.setattr(bank, "import_bank", crash)
        with pytest.raises(RuntimeError):
            await import_jobs.run(runtime.sessionmaker, runtime.settings, crashed, no_heartbeat, last_attempt=True)

    # Another one's worker died on its last attempt: running, silent, and the queue (the one
    # `runtime` asks) holds no job that will run it again.
    _, lost = await queued_import(app, contest.id, xlsx(questions(5)))
    async with app.state.runtime.sessionmaker() as session:
        long_ago = utcnow() - timedelta(minutes=5)
        await session.execute(update(BankImport).where(BankImport.id == lost).values(
            status="running", attempts=3, updated_at=long_ago))
        await session.commit()

    await runtime.jobs.connect()
    try:
        assert (await import_jobs.get(runtime, crashed)).status == "failed"
        assert (await import_jobs.get(runtime, lost)).error == import_jobs.LOST_MESSAGE
    finally:
        await runtime.jobs.close()
    async with organizer_browser:
        await log_in(organizer_browser, factory, app, contest.id)
        for import_id, message in ((crashed, import_jobs.GENERIC_MESSAGE), (lost, import_jobs.LOST_MESSAGE)):
            shown = await organizer_browser.get(f"/admin/contests/{contest.id}/bank/imports/{import_id}")
            assert shown.status_code == 200 and f"Không nhập được tệp: {message}" in shown.text
            assert 'http-equiv="refresh"' not in shown.text
    assert await count_questions(db, contest.id) == 0


async def test_small_uploads_still_import_in_the_request(app, factory, db):
    """The sample banks and everyday files: the report comes back at once, nothing queued."""
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, factory, contest.id)
    sample = (Path(__file__).resolve().parents[2] / "question_banks" / "nghi-quyet-dai-hoi-xiv.xlsx").read_bytes()
    assert len(sample) <= app.state.runtime.settings.import_in_request_max_bytes
    response = await organizer.call("POST", f"/api/v1/contests/{contest.id}/bank/imports",
                                    files={"file": ("nq.xlsx", sample)})
    assert response.status_code == 200 and response.json()["added"] == 124
    imports = await db.scalar(select(func.count()).select_from(BankImport).where(BankImport.contest_id == contest.id))
    await db.rollback()
    assert imports == 0


async def test_old_import_records_and_files_expire(app, factory, db):
    contest = await factory.contest(questions=0)
    runtime, old = await queued_import(app, contest.id, xlsx(questions(5)))
    _, recent = await queued_import(app, contest.id, xlsx(questions(6)))
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(update(BankImport).where(BankImport.id == old).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await import_jobs.get(runtime, old) is None  # past its time: gone for the page already
    from app.jobs.tasks import expire_task
    assert await expire_task({"runtime": app.state.runtime}) >= 1
    assert await files_left(db, old) == 0 and await files_left(db, recent) == 1
    assert await db.get(BankImport, old) is None and await db.get(BankImport, recent) is not None
    await db.rollback()
