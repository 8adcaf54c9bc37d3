"""The registration page's form, checked as a whole: every problem is reported at once (issue 19).

The JSON API gets pydantic's structured errors; a person filling the page must not fix one field,
send, and only then learn about the next. So the page's form is read without pydantic's limits
(the field rules in validation.py cover lengths too), an unreadable date is one more field
problem, and when anything is wrong a phone or CCCD already registered is said in the same answer
(after the same rate limit as a registration, so the page is no cheaper way to probe accounts)."""

from __future__ import annotations

from datetime import date

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.accounts import throttle
from app.accounts import validation as v
from app.accounts.schemas import RegisterIn
from app.core.errors import AppError

MISMATCH = "Mật khẩu nhập lại không khớp."


def parse_date(raw: str) -> date | None:
    from app.accounts.login_pages import _DateError, _parse_date  # the pages' one date rule (dd/mm/yyyy or ISO)

    try:
        return _parse_date(raw)
    except _DateError:
        return None


async def check(request: Request, db: AsyncSession, form, values: dict[str, str]) -> tuple[RegisterIn, dict[str, str]]:
    """(the registration, {field: message}); the registration may only be used when there is no message."""
    errors: dict[str, str] = {}
    data = RegisterIn.model_construct(
        full_name=values.get("full_name", ""),
        date_of_birth=parse_date(values.get("date_of_birth", "")),
        gender=values.get("gender", ""),
        phone=values.get("phone", ""),
        citizen_id=values.get("citizen_id", ""),
        province=values.get("province", ""),
        district=values.get("district") or None,
        commune=values.get("commune", ""),
        unit=values.get("unit") or None,
        party_member=values.get("party_member") == "1",
        password=str(form.get("password", "")),
        device_id=None,
    )
    try:
        accounts.validate_registration(data)
    except AppError as exc:
        errors.update((exc.details or {}).get("fields", {}))
    if form.get("password") != form.get("password2"):
        errors["password2"] = MISMATCH
    if errors and not errors.keys() & {"phone", "citizen_id"}:
        try:
            await throttle.check_register(request, data)
            taken = await accounts._taken_fields(
                db,
                {"phone": v.normalize_phone(data.phone), "citizen_id": v.check_citizen_id_structure(data.citizen_id)},
            )
        except AppError as exc:
            errors.setdefault("form", exc.message)
        else:
            errors.update(taken or {})
    return data, errors
