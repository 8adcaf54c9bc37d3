"""Test data for the load test: one contest with a bank, one open round, and N pre-registered
participants, written through the app's own models and services on the configured database.

    python -m load_tests.setup_data --users 20000 --sessions 64 --out var/loadtest.json

Cheap on purpose: Argon2 costs ~50 ms per password at the production setting, so the password is
hashed ONCE (with the app's own hasher and settings) and that hash is given to every generated
participant. Users go in with multi-row INSERTs, thousands per statement. Phones and CCCDs are
derived from a running index, so a second run on the same database adds new people after the
first run's.

The JSON it writes is what the locustfile reads: the contest and round ids, the password, the
range of pre-registered accounts, and a few ready-made session tokens for the answer-save
benchmark (which must measure saving answers, not Argon2).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from app import models  # noqa: F401  (registers every table)
from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.accounts.validation import CCCD_PROVINCE_CODES
from app.core.sessions import create_session
from app.staff.models import StaffAssignment
from app.staff.roles import ORGANIZER
from app.staff.accounts import STAFF
from app.contests.models import Contest, Round
from app.core.clock import utcnow
from app.questions.service import add_parsed_questions

PASSWORD = "Thi-thu-tai-2025"
LOAD_TEST_UNIT = "Đơn vị thử tải (load test)"
DEFAULT_OUT = Path(os.environ.get("TTN_LOADTEST_DATA", "var/loadtest.json"))

TOPICS = ("Đường lối đổi mới", "Xây dựng Đảng", "Kinh tế - xã hội", "Quốc phòng - an ninh", "Đối ngoại")


@dataclass(frozen=True)
class _Question:  # the shape app.questions.service.add_parsed_questions reads
    row: int
    text: str
    options: tuple[str, ...]
    answer_index: int
    topic: str | None
    difficulty: int
    explanation: str | None = None
    source: str | None = None


@dataclass
class LoadTestData:
    contest_id: int
    round_id: int
    password: str
    first_account: int          # account k (0-based) logs in with phone account_phone(first_account + k)
    accounts: int
    session_tokens: list[str] = field(default_factory=list)  # logged-in participants for the save benchmark
    organizer_token: str = ""   # a logged-in organizer of this contest, for the dashboard watcher

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LoadTestData:
        return cls(**json.loads(Path(path).read_text()))


def account_phone(index: int) -> str:
    return f"09{index:08d}"


def account_citizen_id(index: int) -> str:
    # PPP (province code) G (0: male born 19xx) YY (birth year 1990) NNNNNN: matches the profile below.
    return f"{1 + index // 10**6:03d}090{index % 10**6:06d}"


_PROVINCE_CODES = sorted(CCCD_PROVINCE_CODES)


def register_profile(seq: int, password: str) -> dict:
    """A new participant's registration form, unique per `seq` (phone and CCCD derived from it)."""
    return {
        "full_name": "Trần Thị Bình", "date_of_birth": "1995-03-04", "gender": "female",
        "phone": f"03{seq % 10**8:08d}",
        # a real province code: registration checks the CCCD's first three digits
        "citizen_id": f"{_PROVINCE_CODES[seq // 10**6 % len(_PROVINCE_CODES)]}195{seq % 10**6:06d}",
        "province": "Hà Nội", "district": None, "commune": "Phường Ba Đình", "unit": "Đơn vị thử tải (đăng ký)",
        "party_member": False, "password": password,
    }


def bank(count: int) -> list[_Question]:
    """Questions of realistic length (the attempt page carries 20 of them)."""
    items = []
    for i in range(count):
        text = (f"Câu hỏi thử tải số {i + 1}: Theo Văn kiện Đại hội đại biểu toàn quốc lần thứ XIII của Đảng, "
                f"nội dung nào sau đây được xác định là một trong những nhiệm vụ trọng tâm của nhiệm kỳ (mã {i})?")
        options = tuple(f"Phương án {letter} của câu {i + 1}: đẩy mạnh công tác xây dựng, chỉnh đốn Đảng và hệ thống chính trị"
                        for letter in "ABCD")
        items.append(_Question(row=i + 2, text=text, options=options, answer_index=i % 4,
                               topic=TOPICS[i % len(TOPICS)], difficulty=1 + i % 3))
    return items


async def create_contest(db, *, questions: int = 200, questions_per_attempt: int = 20,
                         time_limit_seconds: int = 15 * 60, attempts_allowed: int = 2) -> tuple[Contest, Round]:
    n = await db.scalar(select(func.count()).select_from(Contest).where(Contest.slug.like("thu-tai-%")))
    contest = Contest(slug=f"thu-tai-{n + 1}-{os.getpid()}", title=f"Cuộc thi thử tải số {n + 1}",
                      organizer_name="Ban Tổ chức (dữ liệu thử tải)", description="Dữ liệu sinh ra để đo tải.",
                      rules_text="Thể lệ thử tải.")
    db.add(contest)
    await db.commit()
    await add_parsed_questions(db, contest.id, bank(questions))
    now = utcnow()
    round_ = Round(contest_id=contest.id, name="Đợt thử tải", open_at=now - timedelta(hours=1),
                   close_at=now + timedelta(days=2), questions_per_attempt=questions_per_attempt,
                   time_limit_seconds=time_limit_seconds, attempts_allowed=attempts_allowed, quotas=[],
                   prediction_enabled=True)
    db.add(round_)
    await db.commit()
    return contest, round_


async def create_participants(db, count: int, password_hash: str, chunk: int = 5000) -> tuple[int, list[int]]:
    """Inserts `count` participants after any earlier load-test ones; returns (first index, user ids)."""
    first = await db.scalar(select(func.count()).select_from(User).where(User.unit == LOAD_TEST_UNIT)) or 0
    ids: list[int] = []
    now = utcnow()
    table = User.__table__
    for start in range(first, first + count, chunk):
        rows = [dict(full_name=f"Người Thử Tải {i}", date_of_birth=None, gender="male", phone=account_phone(i),
                     citizen_id=account_citizen_id(i), province="Hà Nội", district=None, commune="Phường Ba Đình",
                     unit=LOAD_TEST_UNIT, party_member=False, password_hash=password_hash, role="participant",
                     created_at=now)
                for i in range(start, min(start + chunk, first + count))]
        result = await db.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        ids.extend(result.scalars().all())
        await db.commit()
    return first, ids


async def setup(sessionmaker, redis, *, users: int, sessions: int = 0, questions: int = 200,
                session_ttl: int = 12 * 3600, **round_fields) -> LoadTestData:
    """`users` accounts for journeys that log in, plus `sessions` more that are logged in here."""
    async with sessionmaker() as db:
        contest, round_ = await create_contest(db, questions=questions, **round_fields)
        password_hash = await hash_password(PASSWORD)  # once, shared by every generated account
        first, ids = await create_participants(db, users + sessions + 1, password_hash)
        organizer_id = ids.pop()  # the last generated account becomes the contest's organizer
        await db.execute(User.__table__.update().where(User.id == organizer_id).values(role=STAFF))
        db.add(StaffAssignment(user_id=organizer_id, contest_id=contest.id, role=ORGANIZER))
        await db.commit()
    tokens = []
    for user_id in ids[users:]:
        tokens.append((await create_session(redis, user_id, "participant", session_ttl, "Người Thử Tải")).token)
    organizer = await create_session(redis, organizer_id, STAFF, session_ttl, "Ban Tổ chức thử tải")
    return LoadTestData(contest_id=contest.id, round_id=round_.id, password=PASSWORD, first_account=first,
                        accounts=users, session_tokens=tokens, organizer_token=organizer.token)


async def _main(args) -> LoadTestData:
    from app.config import get_settings
    from app.core.db import create_engine, make_sessionmaker
    from app.core.redis import create_redis

    settings = get_settings()
    if args.migrate:
        from app.core.migrate import upgrade_to_head

        await asyncio.to_thread(upgrade_to_head)
    engine = create_engine(settings)
    redis = create_redis(settings)
    try:
        return await setup(make_sessionmaker(engine), redis, users=args.users, sessions=args.sessions,
                           questions=args.questions, session_ttl=settings.session_ttl_seconds,
                           time_limit_seconds=args.time_limit)
    finally:
        await redis.aclose()
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000, help="pre-registered accounts for journeys")
    parser.add_argument("--sessions", type=int, default=64, help="extra accounts logged in for the save benchmark")
    parser.add_argument("--questions", type=int, default=200, help="questions in the bank")
    parser.add_argument("--time-limit", type=int, default=15 * 60, help="seconds per attempt")
    parser.add_argument("--migrate", action="store_true", help="run the migrations first")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    data = asyncio.run(_main(args))
    data.save(args.out)
    print(f"contest {data.contest_id}, round {data.round_id}: {data.accounts} accounts from "
          f"{account_phone(data.first_account)}, {len(data.session_tokens)} sessions -> {args.out}")


if __name__ == "__main__":
    main()
