"""JSON API for reading contests and their rounds."""

from __future__ import annotations

from fastapi import APIRouter

from app.contests.public import public_contests
from app.contests.schemas import ContestOut, ContestSummary
from app.core.deps import DbDep
from app.core.errors import ErrorResponses

router = APIRouter(prefix="/api/v1", tags=["contests"], responses=ErrorResponses)


@router.get("/contests", response_model=list[ContestSummary], summary="Published contests")
async def list_contests(db: DbDep):
    return await public_contests(db).list(db)


@router.get("/contests/{contest_id}", response_model=ContestOut, summary="A contest with its rounds and rules")
async def get_contest(contest_id: int, db: DbDep):
    return await public_contests(db).get(db, contest_id)
