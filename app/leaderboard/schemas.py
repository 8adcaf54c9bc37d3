"""The leaderboard JSON API's request and response shapes (routes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import StrictIn

Phase = Literal["live", "final"]
ScopeKind = Literal["all", "unit", "province"]
NameStyle = Literal["initials", "full", "hidden"]


class BoardRowOut(BaseModel):
    rank: int = Field(description="1-based rank within the board shown (whole round, unit or province)")
    name: str = Field(description="Name as the organizer chose to show it (e.g. 'Nguyễn V. A.'); never a phone number")
    unit: str | None
    province: str | None
    correct: int
    total: int
    time_ms: int = Field(description="Time taken, milliseconds")
    submitted_at: datetime
    prediction: int | None = Field(None, description="Final board only: the participant's prediction")
    distance: int | None = Field(None, description="Final board only: |prediction − T|; null without a prediction")
    is_me: bool = Field(False, description="This row is the logged-in participant's")


class BoardOut(BaseModel):
    round_id: int
    phase: Phase = Field(
        description="live: order without the prediction key while T is unknown; "
        "final: the final ranking published after the round closed"
    )
    scope: ScopeKind
    scope_name: str | None = Field(description="The unit or province shown, if any")
    participants: int = Field(description="Participants on this board")
    prediction_truth: int | None = Field(description="T, on the final board")
    offset: int
    limit: int
    rows: list[BoardRowOut]


class StandingOut(BaseModel):
    scope: ScopeKind
    scope_name: str | None
    rank: int
    participants: int
    rows: list[BoardRowOut] = Field(description="Neighbours above, the participant, neighbours below")


class MyStandingOut(BaseModel):
    round_id: int
    phase: Phase
    on_board: bool = Field(description="False until the participant has submitted an attempt in this round")
    standings: list[StandingOut] = Field(description="Whole round, then the participant's unit and province")


class GroupOut(BaseModel):
    name: str
    participants: int


class GroupsOut(BaseModel):
    round_id: int
    phase: Phase
    kind: Literal["unit", "province"]
    participants: int = Field(description="Participants on the whole board")
    groups_total: int
    offset: int
    limit: int
    groups: list[GroupOut] = Field(description="Most participants first, then by name")


class SettingsIn(StrictIn):
    name_style: NameStyle


class SettingsOut(BaseModel):
    round_id: int
    name_style: NameStyle


class FinalizeIn(StrictIn):
    prediction_truth: int | None = Field(
        None,
        ge=0,
        le=1_000_000_000,
        description="T as entered by the organizer; omit or null to use the computed value "
        "(participants whose counted attempt was all correct)",
    )


class FinalizeOut(BaseModel):
    round_id: int
    prediction_truth: int = Field(description="T now stored on the round")
    computed_truth: int = Field(description="T as computed from the attempts, for the organizer to compare")
    participants: int


class RebuildOut(BaseModel):
    round_id: int
    live_participants: int
    final_participants: int | None = Field(description="null while no final board is published")
