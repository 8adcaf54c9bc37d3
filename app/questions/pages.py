"""Organizer pages of a contest's bank (Vietnamese, server-rendered, no JavaScript needed):
upload with its report, browse/search, edit, retire/restore, counts. Thin, like the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import Contest
from app.core.deps import DbDep
from app.core.errors import AppError, NotFound
from app.core.runtime import RuntimeDep
from app.questions import bank, import_jobs
from app.questions.bank_export import export_bank_xlsx
from app.questions.importing.rules import LETTERS
from app.questions.models import DIFFICULTY_LABELS
from app.questions.routes import XLSX, question_out
from app.staff.deps import staff_with
from app.staff.roles import EDIT_BANK, VIEW_BANK, StaffAccess
from app.web.forms import PageForm
from app.web.render import page

router = APIRouter(prefix="/admin/contests/{contest_id}/bank", include_in_schema=False)

BankViewerPage = Annotated[StaffAccess, Depends(staff_with(VIEW_BANK, page=True))]
BankEditorPage = Annotated[StaffAccess, Depends(staff_with(EDIT_BANK, page=True))]


async def _contest(db: AsyncSession, contest_id: int) -> Contest:
    contest = await db.get(Contest, contest_id)
    if contest is None:
        raise NotFound("contest_not_found", "Không tìm thấy cuộc thi.")
    return contest


def _back(contest_id: int, message: str | None = None) -> RedirectResponse:
    query = f"?{urlencode({'msg': message})}" if message else ""
    return RedirectResponse(f"/admin/contests/{contest_id}/bank{query}", status_code=303)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() else None


@router.get("")
async def bank_page(contest_id: int, request: Request, access: BankViewerPage, db: DbDep):
    contest = await _contest(db, contest_id)
    params = request.query_params
    status = str(params.get("status")) if params.get("status") in ("active", "retired", "all") else "active"
    difficulty = _int(params.get("difficulty"))
    filters: dict[str, Any] = {
        "search": params.get("search", "")[:200],
        "topic": params.get("topic") or "",
        "difficulty": difficulty if difficulty in DIFFICULTY_LABELS else None,
        "status": status,
    }
    result = await bank.list_questions(
        db,
        contest_id,
        search=filters["search"],
        topic=filters["topic"] or None,
        difficulty=filters["difficulty"],
        status=status,
        page=_int(params.get("page")) or 1,
        per_page=50,
    )
    query = {k: v for k, v in filters.items() if v}
    return page(
        request,
        "bank/bank.html",
        contest=contest,
        counts=await bank.bank_counts(db, contest_id),
        topics=await bank.topics(db, contest_id),
        result=result,
        questions=[question_out(q) for q in result.items],
        filters=filters,
        query=urlencode(query),
        difficulty_labels=DIFFICULTY_LABELS,
        can_edit=access.can(EDIT_BANK, contest_id),
        message=params.get("msg"),
    )


@router.post("/import")
async def upload(
    contest_id: int, request: Request, access: BankEditorPage, runtime: RuntimeDep, db: DbDep, form: PageForm
):
    contest = await _contest(db, contest_id)
    upload_file = form.get("file")
    if upload_file is None or isinstance(upload_file, str) or not upload_file.filename:
        raise AppError("no_file", "Hãy chọn tệp ngân hàng câu hỏi cần tải lên.", 422)
    data = await upload_file.read()
    if import_jobs.queued(runtime.settings, len(data)):  # a large file: a worker imports it
        import_id = await import_jobs.start(
            runtime, db, contest_id, data, upload_file.filename, access, dry_run=form.get("dry_run") == "1"
        )
        return RedirectResponse(f"/admin/contests/{contest_id}/bank/imports/{import_id}", status_code=303)
    report = await bank.import_bank(
        db,
        contest_id,
        data,
        upload_file.filename,
        actor=access,
        limits=bank.limits_from_settings(runtime.settings),
        dry_run=form.get("dry_run") == "1",
    )
    return page(request, "bank/report.html", status=200 if report.ok else 422, contest=contest, report=report)


@router.get("/imports/{import_id}")
async def import_page(
    contest_id: int, import_id: str, request: Request, access: BankEditorPage, runtime: RuntimeDep, db: DbDep
):
    """A queued import: refreshes itself (no JavaScript) until the report is ready, then shows it
    as an upload in the request does."""
    contest = await _contest(db, contest_id)
    job = await import_jobs.of_contest(runtime, db, contest_id, import_id)
    return page(request, "bank/import.html", contest=contest, job=job, report=job.report)


@router.get("/export.xlsx")
async def export(contest_id: int, access: BankViewerPage, db: DbDep):
    contest = await _contest(db, contest_id)
    data = export_bank_xlsx(await bank.all_active_questions(db, contest_id), contest.title)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="ngan-hang-{contest.slug}.xlsx"'}
    )


@router.get("/questions/{question_id}")
async def question_page(
    contest_id: int,
    question_id: int,
    request: Request,
    access: BankViewerPage,
    db: DbDep,
):
    contest = await _contest(db, contest_id)
    question = question_out(await bank.get_question(db, contest_id, question_id))
    values = {
        "text": question.text,
        "options": [o.text for o in question.options],
        "answer": question.answer,
        "topic": question.topic or "",
        "difficulty": question.difficulty,
        "explanation": question.explanation or "",
        "source": question.source or "",
    }
    return page(
        request,
        "bank/question.html",
        contest=contest,
        question=question,
        values=values,
        problems=[],
        letters=LETTERS,
        difficulty_labels=DIFFICULTY_LABELS,
        can_edit=access.can(EDIT_BANK, contest_id),
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/questions/{question_id}")
async def question_save(
    contest_id: int,
    question_id: int,
    request: Request,
    access: BankEditorPage,
    db: DbDep,
    form: PageForm,
):
    contest = await _contest(db, contest_id)
    data = bank.QuestionInput(
        text=str(form.get("text", "")),
        options=[str(form.get(f"option_{c}", "")) for c in "abcdef"],
        answer=str(form.get("answer", "")),
        topic=str(form.get("topic", "")),
        difficulty=str(form.get("difficulty", "")),
        explanation=str(form.get("explanation", "")),
        source=str(form.get("source", "")),
    )
    try:
        new = await bank.edit_question(db, access, contest_id, question_id, data)
    except bank.InvalidQuestion as error:
        await db.rollback()
        contest = await _contest(db, contest_id)  # reloaded: the rollback expired it
        question = question_out(await bank.get_question(db, contest_id, question_id))
        values = {
            "text": data.text,
            "options": data.options,
            "answer": data.answer,
            "topic": data.topic,
            "difficulty": _int(str(data.difficulty)) or 2,
            "explanation": data.explanation,
            "source": data.source,
        }
        return page(
            request,
            "bank/question.html",
            status=422,
            contest=contest,
            question=question,
            values=values,
            problems=error.problems,
            letters=LETTERS,
            difficulty_labels=DIFFICULTY_LABELS,
            can_edit=True,
            saved=False,
        )
    return RedirectResponse(f"/admin/contests/{contest_id}/bank/questions/{new.id}?saved=1", status_code=303)


@router.post("/questions/{question_id}/retire")
async def retire(
    contest_id: int,
    question_id: int,
    request: Request,
    access: BankEditorPage,
    db: DbDep,
    form: PageForm,
):
    await bank.retire_question(db, access, contest_id, question_id)
    return _back(contest_id, f"Đã ngừng dùng câu #{question_id}: câu này không còn được rút vào lượt thi mới.")


@router.post("/questions/{question_id}/restore")
async def restore(
    contest_id: int,
    question_id: int,
    request: Request,
    access: BankEditorPage,
    db: DbDep,
    form: PageForm,
):
    await bank.restore_question(db, access, contest_id, question_id)
    return _back(contest_id, f"Đã dùng lại câu #{question_id}.")
