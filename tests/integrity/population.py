"""A round's participants written straight into the database (fast: a few bulk inserts): N
ordinary people, each on their own browser and home address, and a ring of accounts run by one
person from one browser, spreading their predictions over a range."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert

from app.accounts.models import User
from app.accounts.validation import CCCD_PROVINCE_CODES
from app.attempts.models import SUBMITTED, Attempt
from app.core.clock import utcnow
from app.integrity.models import LOGIN, REGISTER, AccountEvent

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Thu", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Ngân", "Nhung", "Phong", "Phúc", "Phương", "Quân", "Quỳnh",
         "Sơn", "Tâm", "Thảo", "Thắng", "Thủy", "Trang", "Trung", "Tuấn", "Tú", "Uyên", "Việt", "Vinh", "Yến", "Hòa"]
CODES = sorted(CCCD_PROVINCE_CODES)
# Phones and CCCDs handed out by earlier calls in this test session (both are unique in the table).
_USED_PHONES: set[str] = set()
_USED_CCCDS: set[str] = set()


@dataclass
class Population:
    normal_ids: list[int]
    ring_ids: list[int]
    ring_predictions: list[int]


def _person(rng: random.Random, used_cccd: set[str]) -> dict:
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))
    female = rng.random() < 0.5
    while True:
        code = (0 if born.year < 2000 else 2) + int(female)
        cccd = f"{rng.choice(CODES)}{code}{born.year % 100:02d}{rng.randrange(10**6):06d}"
        if cccd not in used_cccd:
            used_cccd.add(cccd)
            break
    return {"full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}", "date_of_birth": born,
            "gender": "female" if female else "male", "citizen_id": cccd, "province": "Hà Nội",
            "commune": "Phường Ba Đình", "unit": "Đơn vị thử", "party_member": False,
            "password_hash": "not-a-real-hash", "role": "participant"}


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


async def populate(app, round_id: int, *, normal: int = 5000, ring: int = 30, seed: int = 16) -> Population:
    rng = random.Random(seed)
    now = utcnow()
    used_cccd = _USED_CCCDS
    phones = []
    while len(phones) < normal + ring:  # random over the whole range: no accidental sequences
        phone = f"03{rng.randrange(10**8):08d}"
        if phone not in _USED_PHONES:
            _USED_PHONES.add(phone)
            phones.append(phone)
    people = []
    for i in range(normal + ring):
        person = _person(rng, used_cccd)
        person["phone"] = phones[i]
        person["created_at"] = now - timedelta(days=10) + timedelta(seconds=rng.randrange(9 * 86400))
        people.append(person)
    ring_predictions = list(range(1200, 1200 + ring))
    async with app.state.runtime.sessionmaker() as db:
        ids = list((await db.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), people)).all())
        attempts, events = [], []
        ring_device = f"{rng.getrandbits(128):032x}"
        ring_ips = [_ip(rng), _ip(rng)]
        for i, (user_id, person) in enumerate(zip(ids, people)):
            in_ring = i >= normal
            started = now - timedelta(hours=2) + timedelta(seconds=rng.randrange(3600))
            time_ms = rng.randrange(60_000, 600_000)
            attempts.append({"round_id": round_id, "user_id": user_id, "seq": 1, "status": SUBMITTED,
                             "started_at": started, "deadline": started + timedelta(minutes=15), "paper": [],
                             "prediction": ring_predictions[i - normal] if in_ring else rng.randrange(500, 3000),
                             "submitted_at": started + timedelta(milliseconds=time_ms), "auto_submitted": False,
                             "correct": 20 if in_ring else rng.randrange(8, 21), "total": 20, "time_ms": time_ms})
            device = ring_device if in_ring else f"{rng.getrandbits(128):032x}"
            home = rng.choice(ring_ips) if in_ring else _ip(rng)
            events.append({"user_id": user_id, "kind": REGISTER, "device": device, "ip": home,
                           "created_at": person["created_at"]})
            for _ in range(rng.randrange(3)):
                ip = home if rng.random() < 0.7 else _ip(rng)
                events.append({"user_id": user_id, "kind": LOGIN, "device": device, "ip": ip,
                               "created_at": person["created_at"] + timedelta(seconds=rng.randrange(86400))})
        await db.execute(insert(Attempt), attempts)
        await db.execute(insert(AccountEvent), events)
        await db.commit()
    return Population(ids[:normal], ids[normal:], ring_predictions)
