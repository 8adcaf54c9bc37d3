from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import StrictIn

DEVICE_ID_HELP = (
    "A random id (16–64 characters A–Z a–z 0–9 _ -) the client keeps for good and sends with every "
    "registration and login (or as the X-Device-Id header). Used only by the jury's "
    "suspicious-accounts report, stored as a keyed hash."
)


class RegisterIn(StrictIn):
    full_name: str = Field(max_length=200, examples=["Nguyễn Văn An"])
    date_of_birth: date = Field(strict=False, examples=["1990-05-19"])
    gender: str = Field(description="male | female | other", examples=["male"])
    phone: str = Field(max_length=20, examples=["0912345678"])
    citizen_id: str = Field(max_length=20, description="CCCD, 12 digits", examples=["001090012345"])
    province: str = Field(max_length=100, examples=["Hà Nội"])
    district: str | None = Field(default=None, max_length=200)
    commune: str = Field(max_length=200, examples=["Phường Ba Đình"])
    unit: str | None = Field(default=None, max_length=300, description="Workplace / organization")
    party_member: bool = False
    password: str = Field(max_length=200)
    device_id: str | None = Field(default=None, max_length=100, description=DEVICE_ID_HELP)


class LoginIn(StrictIn):
    login: str = Field(max_length=40, description="Phone number or CCCD", examples=["0912345678"])
    password: str = Field(max_length=200)
    device_id: str | None = Field(default=None, max_length=100, description=DEVICE_ID_HELP)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    date_of_birth: date | None
    gender: str | None
    phone: str
    citizen_id: str | None
    province: str | None
    district: str | None
    commune: str | None
    unit: str | None
    party_member: bool
    role: str


class LoginOut(BaseModel):
    user: UserOut
    token: str = Field(
        description="Session token; also set as the HttpOnly cookie. Send as 'Authorization: Bearer <token>' from non-browser clients."
    )
