"""Staff accounts for console tests, logged in with a bearer token like any API client."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import update

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.staff.models import StaffAssignment
from app.contests.models import Round
from app.core.clock import utcnow
from tests.attempts.helpers import correct_option, wrong_option
from tests.factories import unique_phone

PASSWORD = "mat-khau-can-bo-1"


@dataclass
class Staff:
    client: httpx.AsyncClient
    token: str
    user_id: int
    phone: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        cookies = kwargs.pop("cookies", None)
        if cookies:  # a console form: the CSRF cookie its hidden field must echo
            self.client.cookies.update(cookies)
        try:
            return await self.client.request(method, url, headers=self.headers, **kwargs)
        finally:
            if cookies:
                self.client.cookies.clear()


async def make_staff(app, client, *, admin: bool = False, roles: dict[int, str] | None = None,
                     name: str = "Trần Thị Cán Bộ") -> Staff:
    phone = unique_phone()
    async with app.state.runtime.sessionmaker() as db:
        user = User(full_name=name, phone=phone, password_hash=await hash_password(PASSWORD),
                    role="admin" if admin else "staff")
        db.add(user)
        await db.flush()
        for contest_id, role in (roles or {}).items():
            db.add(StaffAssignment(user_id=user.id, contest_id=contest_id, role=role))
        await db.commit()
        user_id = user.id
    response = await client.post("/api/v1/auth/login", json={"login": phone, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return Staff(client, response.json()["token"], user_id, phone)


async def take_attempt(participant, round_id: int, right: int, prediction: int | None = 0) -> dict:
    """Opens an attempt, answers `right` questions correctly and the rest wrongly, submits."""
    opened = await participant.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert opened.status_code in (200, 201), opened.text
    attempt = opened.json()
    for i, q in enumerate(attempt["questions"]):
        option = correct_option(q) if i < right else wrong_option(q)
        r = await participant.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                   json={"option_id": option})
        assert r.status_code == 200, r.text
    r = await participant.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": prediction})
    assert r.status_code == 200, r.text
    return attempt


async def end_round_now(app, round_id: int) -> None:
    """Moves the round's close time into the past (past the grace period) so it can be closed."""
    async with app.state.runtime.sessionmaker() as db:
        await db.execute(update(Round).where(Round.id == round_id).values(close_at=utcnow() - timedelta(seconds=5)))
        await db.commit()
    app.state.runtime.caches.rounds.clear()
