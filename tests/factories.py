"""Builders for test data: contests with banks, open rounds, registered participants."""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import timedelta

import httpx

from app.contests.models import Contest, Round
from app.core.clock import utcnow
from app.questions.importing.results import ParsedQuestion
from app.questions.service import add_parsed_questions

_counter = itertools.count(1)
_rng = random.Random()


# Numbers are unique within a test run by construction (a counter from a random start), not by
# chance: with ~1,000 registrations per run, random 6-digit CCCD tails collided now and then
# (a birthday-paradox flake: "Số CCCD này đã được đăng ký").
_serial = itertools.count(_rng.randrange(10**5))


def unique_phone() -> str:
    return "09" + f"{(next(_serial) * 7919) % 10**8:08d}"


def unique_citizen_id(year: int = 1990, female: bool = False) -> str:
    century_code = (0 if year < 2000 else 2) + (1 if female else 0)
    return f"001{century_code}{year % 100:02d}{(next(_serial) * 7919) % 10**6:06d}"


def profile(**overrides) -> dict:
    data = {
        "full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-19", "gender": "male",
        "phone": unique_phone(), "citizen_id": unique_citizen_id(1990), "province": "Hà Nội",
        "district": None, "commune": "Phường Ba Đình", "unit": "Sở Giáo dục và Đào tạo",
        "party_member": True, "password": "mat-khau-an-toan",
    }
    data.update(overrides)
    return data


def sample_questions(count: int, topics=("Chủ đề 1", "Chủ đề 2", "Chủ đề 3")) -> list[ParsedQuestion]:
    run = next(_counter)
    return [
        ParsedQuestion(row=i + 2, text=f"Câu hỏi thử {run}-{i}: đâu là phương án đúng?",
                       options=(f"Đúng {i}", f"Sai {i}-1", f"Sai {i}-2", f"Sai {i}-3"), answer_index=0,
                       topic=topics[i % len(topics)], difficulty=1 + i % 3, explanation=None,
                       source=f"Văn kiện mẫu, mục {i}")
        for i in range(count)
    ]


@dataclass
class Participant:
    client: httpx.AsyncClient
    token: str
    user: dict

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        return await self.client.request(method, url, headers=self.headers, **kwargs)


class Factory:
    def __init__(self, app, client: httpx.AsyncClient):
        self.app = app
        self.client = client

    async def contest(self, questions: int = 40, **fields) -> Contest:
        async with self.app.state.runtime.sessionmaker() as db:
            n = next(_counter)
            contest = Contest(slug=f"test-{n}-{_rng.randrange(10**9)}", title=f"Cuộc thi thử {n}",
                              rules_text="Thể lệ thử.", **fields)
            db.add(contest)
            await db.commit()
            await add_parsed_questions(db, contest.id, sample_questions(questions))
            return contest

    async def round(self, contest: Contest | None = None, **fields) -> Round:
        contest = contest or await self.contest()
        now = utcnow()
        values = dict(name="Tuần thử", open_at=now - timedelta(hours=1), close_at=now + timedelta(days=1),
                      questions_per_attempt=10, time_limit_seconds=600, attempts_allowed=2, quotas=[],
                      prediction_enabled=True)
        values.update(fields)
        async with self.app.state.runtime.sessionmaker() as db:
            round_ = Round(contest_id=contest.id, **values)
            db.add(round_)
            await db.commit()
            return round_

    async def participant(self, client: httpx.AsyncClient | None = None, **overrides) -> Participant:
        client = client or self.client
        response = await client.post("/api/v1/auth/register", json=profile(**overrides))
        for _ in range(3):
            # A generated phone or CCCD can still meet one a test wrote by hand ("001090123456") or
            # one another process of the run generated from its own random start: draw again. A
            # number the test chose itself is never redrawn, so its conflict stays the test's.
            if response.status_code != 409 or {"phone", "citizen_id"} & overrides.keys():
                break
            response = await client.post("/api/v1/auth/register", json=profile(**overrides))
        assert response.status_code == 201, response.text
        # Participants authenticate with their bearer token; keeping the cookie would make the next
        # registration from this client rotate (end) this participant's session, as a browser would.
        client.cookies.clear()
        body = response.json()
        return Participant(client, body["token"], body["user"])
