from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class RoundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    open_at: datetime
    close_at: datetime
    questions_per_attempt: int
    time_limit_seconds: int
    attempts_allowed: int
    prediction_enabled: bool
    prediction_question: str
    status: str  # upcoming | open | closed


class ContestSummary(BaseModel):
    id: int
    slug: str
    title: str
    organizer_name: str | None
    description: str
    open_round_id: int | None


class ContestOut(ContestSummary):
    rules_text: str
    rounds: list[RoundOut]
