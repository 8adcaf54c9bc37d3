"""JSON API of a contest's question bank, for organizers (and judges, read-only). Thin: every
call checks the caller's role for that contest on the server, then calls app.questions.bank."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import Contest
from app.core.deps import DbDep
from app.core.errors import AppError, ErrorResponses, NotFound
from app.core.runtime import Runtime, RuntimeDep
from app.core.schemas import StrictIn
from app.questions import bank, import_jobs
from app.questions.bank_export import export_bank_xlsx
from app.questions.importing.rules import LETTERS
from app.questions.models import DIFFICULTY_LABELS, Question
from app.staff.deps import staff_with
from app.staff.roles import EDIT_BANK, VIEW_BANK, StaffAccess

router = APIRouter(
    prefix="/api/v1/contests/{contest_id}/bank", tags=["question bank (organizers)"], responses=ErrorResponses
)

# Organizers edit the bank; judges read it too (app/staff/roles.py).
BankViewer = Annotated[StaffAccess, Depends(staff_with(VIEW_BANK))]
BankEditor = Annotated[StaffAccess, Depends(staff_with(EDIT_BANK))]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class OptionOut(BaseModel):
    letter: str
    text: str
    correct: bool


class QuestionOut(BaseModel):
    id: int
    text: str
    options: list[OptionOut]
    answer: str
    topic: str | None
    difficulty: int
    difficulty_label: str
    explanation: str | None
    source: str | None = Field(description="where the fact comes from (\"Nguồn\"); staff only")
    retired: bool
    replaces_id: int | None


class QuestionPageOut(BaseModel):
    items: list[QuestionOut]
    total: int
    page: int
    pages: int
    per_page: int


class QuestionIn(StrictIn):
    text: str = Field(max_length=5000)
    options: list[str] = Field(min_length=2, max_length=6)
    answer: str = Field(description="letter of the correct option, A-F", max_length=20)
    topic: str | None = Field(default=None, max_length=200)
    difficulty: str | int | None = Field(default=None, description="Dễ / Trung bình / Khó or 1 / 2 / 3")
    explanation: str | None = Field(default=None, max_length=5000)
    source: str | None = Field(
        default=None, max_length=2000, description="\"Nguồn\": document and section, or article and address"
    )


def question_out(question: Question) -> QuestionOut:
    options = [OptionOut(letter=LETTERS[i], text=o.text, correct=o.is_correct) for i, o in enumerate(question.options)]
    return QuestionOut(
        id=question.id,
        text=question.text,
        options=options,
        answer=next((o.letter for o in options if o.correct), ""),
        topic=question.topic,
        difficulty=question.difficulty,
        difficulty_label=DIFFICULTY_LABELS.get(question.difficulty, ""),
        explanation=question.explanation,
        source=question.source,
        retired=question.retired,
        replaces_id=question.replaces_id,
    )


async def _contest(db: AsyncSession, contest_id: int) -> Contest:
    contest = await db.get(Contest, contest_id)
    if contest is None:
        raise NotFound("contest_not_found", "Không tìm thấy cuộc thi.")
    return contest


@router.post(
    "/imports",
    summary="Upload a bank file (.xlsx, .xls, .ods, .csv, GIFT, Aiken) into the contest",
    responses={202: {"description": "a large file: queued for a worker; poll `status_url`"}},
)
async def upload_bank(
    contest_id: int,
    request: Request,
    access: BankEditor,
    runtime: RuntimeDep,
    db: DbDep,
    file: UploadFile = File(...),
    dry_run: bool = Form(False, description="only check the file and report; write nothing"),
):
    """All or nothing. 200 with the report when the file has no problem (`added` questions were
    written, or would be with `dry_run`); 422 `bank_invalid` with the same report in
    `error.details` when any row is invalid, and then nothing is written. A file over
    IMPORT_IN_REQUEST_MAX_BYTES is imported by a worker: 202 with the import's `status_url`
    (also in `Location`), whose `report` is the same report once `status` is `done`."""
    await _contest(db, contest_id)
    data = await file.read()
    if import_jobs.queued(runtime.settings, len(data)):
        return await _queue_upload(runtime, db, contest_id, data, file.filename or "tep-tai-len", access, dry_run)
    report = await bank.import_bank(
        db,
        contest_id,
        data,
        file.filename or "tep-tai-len",
        actor=access,
        limits=bank.limits_from_settings(runtime.settings),
        dry_run=dry_run,
    )
    if not report.ok:
        raise AppError("bank_invalid", bank.summary_line(report), 422, details=report.to_json())
    return report.to_json()


def _import_url(contest_id: int, import_id: str) -> str:
    return f"/api/v1/contests/{contest_id}/bank/imports/{import_id}"


async def _queue_upload(
    runtime: Runtime, db: AsyncSession, contest_id: int, data: bytes, filename: str, access: StaffAccess, dry_run: bool
) -> JSONResponse:
    import_id = await import_jobs.start(runtime, db, contest_id, data, filename, access, dry_run=dry_run)
    url = _import_url(contest_id, import_id)
    return JSONResponse(
        {"id": import_id, "status": import_jobs.QUEUED, "status_url": url}, status_code=202, headers={"Location": url}
    )


@router.get("/imports/{import_id}", summary="A queued import: progress, then its report or why it failed")
async def import_status(contest_id: int, import_id: str, access: BankEditor, runtime: RuntimeDep, db: DbDep):
    """`status`: queued, running, done (the file was judged: `ok` true and `report.added`
    questions written, or `ok` false with every problem in `report.problems` and nothing
    written), failed (the job itself failed for good: `error` says so; nothing written)."""
    job = await import_jobs.of_contest(runtime, db, contest_id, import_id)
    return job.to_json(_import_url(contest_id, import_id))


@router.get("/questions", response_model=QuestionPageOut, summary="Browse and search the bank")
async def browse(
    contest_id: int,
    access: BankViewer,
    db: DbDep,
    search: str | None = Query(None, max_length=200),
    topic: str | None = None,
    difficulty: int | None = Query(None, ge=1, le=3),
    status: Literal["active", "retired", "all"] = "active",
    page: int = Query(1, ge=1),
    per_page: int = Query(50, ge=1, le=500),
):
    await _contest(db, contest_id)
    result = await bank.list_questions(
        db, contest_id, search=search, topic=topic, difficulty=difficulty, status=status, page=page, per_page=per_page
    )
    return QuestionPageOut(
        items=[question_out(q) for q in result.items],
        total=result.total,
        page=result.page,
        pages=result.pages,
        per_page=result.per_page,
    )


@router.get("/counts", summary="Active questions by topic and difficulty")
async def counts(contest_id: int, access: BankViewer, db: DbDep):
    await _contest(db, contest_id)
    return (await bank.bank_counts(db, contest_id)).to_json()


@router.get(
    "/export.xlsx",
    summary="The active bank as .xlsx in the import template",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
async def export(contest_id: int, access: BankViewer, db: DbDep):
    contest = await _contest(db, contest_id)
    data = export_bank_xlsx(await bank.all_active_questions(db, contest_id), contest.title)
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="ngan-hang-{contest.slug}.xlsx"'}
    )


@router.get("/questions/{question_id}", response_model=QuestionOut)
async def show(contest_id: int, question_id: int, access: BankViewer, db: DbDep):
    return question_out(await bank.get_question(db, contest_id, question_id))


@router.put(
    "/questions/{question_id}",
    response_model=QuestionOut,
    summary="Correct a question: the old one is retired, the corrected copy is returned",
)
async def edit(
    contest_id: int,
    question_id: int,
    body: QuestionIn,
    access: BankEditor,
    db: DbDep,
):
    question = await bank.edit_question(db, access, contest_id, question_id, bank.QuestionInput(**body.model_dump()))
    return question_out(question)


@router.post(
    "/questions/{question_id}/retire",
    response_model=QuestionOut,
    summary="Stop drawing a question (past attempts keep showing it)",
)
async def retire(contest_id: int, question_id: int, access: BankEditor, db: DbDep):
    return question_out(await bank.retire_question(db, access, contest_id, question_id))


@router.post("/questions/{question_id}/restore", response_model=QuestionOut, summary="Draw a retired question again")
async def restore(contest_id: int, question_id: int, access: BankEditor, db: DbDep):
    return question_out(await bank.restore_question(db, access, contest_id, question_id))
