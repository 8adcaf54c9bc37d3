from __future__ import annotations

from datetime import datetime

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from app.core.schemas import StrictIn


class OptionOut(BaseModel):
    id: str = Field(description="Opaque per-attempt option id")
    label: str = Field(description="Letter shown to the participant (A, B, ...)")
    text: str


class QuestionOut(BaseModel):
    id: int
    number: int
    text: str
    options: list[OptionOut]


class ResultOut(BaseModel):
    attempt_id: int
    correct: int
    total: int
    time_ms: int
    prediction: int | None
    submitted_at: datetime
    auto_submitted: bool


class AttemptOut(BaseModel):
    attempt_id: int
    round_id: int
    seq: int
    status: str = Field(description="in_progress | submitted")
    started_at: datetime
    deadline: datetime
    server_time: datetime
    remaining_ms: int = Field(description="Time left by the server clock; count down from this, not the device clock")
    prediction_enabled: bool
    prediction_question: str | None
    prediction: int | None
    questions: list[QuestionOut]
    answers: dict[str, str] = Field(description="question id -> chosen option id")
    result: ResultOut | None = None


class AnswerIn(StrictIn):
    option_id: str = Field(max_length=40)


def parse_answer(body: bytes) -> str:
    """The option token of an answer save's body. The hot route parses it itself: pydantic-core
    reads the JSON straight into the model, without FastAPI's body and dependency machinery."""
    try:
        return AnswerIn.model_validate_json(body or b"null").option_id
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


class AnswerOut(BaseModel):
    question_id: int
    option_id: str
    saved_at: datetime
    remaining_ms: int


class PredictionIn(StrictIn):
    prediction: int = Field(ge=0, le=1_000_000_000)


class SubmitIn(StrictIn):
    prediction: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000_000,
        description="Answer to the prediction question; required when the round has one, unless saved before",
    )
    auto: bool = Field(
        default=False,
        description="The page's countdown ran out (its automatic submit): no prediction "
        "is required then. Honoured only from 2 s before the server's deadline",
    )


def parse_submit(body: bytes) -> SubmitIn | None:
    """A submit's optional body, parsed like `parse_answer` (no body, or `null`: None)."""
    if not body.strip() or body.strip() == b"null":
        return None
    try:
        return SubmitIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


class RoundProgressOut(BaseModel):
    round_id: int
    attempts_allowed: int
    attempts_used: int
    in_progress_attempt_id: int | None
    best: ResultOut | None
    attempts: list[ResultOut]
