"""Leaderboard fixtures: the board on the suite's single Redis and on a real 3-node Redis Cluster
started here on loopback; participants and submitted attempts written straight to the database."""
from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

from app.accounts.models import User
from app.attempts.models import SUBMITTED, Attempt
from tests.leaderboard.cluster import REDIS_CLI, REDIS_SERVER, redis_cluster

_round_ids = itertools.count(random.randrange(10**6, 10**7) * 100)


def fresh_round_id() -> int:
    """A round id no other test uses: board-level tests need no round in the database."""
    return next(_round_ids)


@pytest.fixture(scope="session")
def cluster_urls():
    if not (REDIS_SERVER and REDIS_CLI):
        if os.environ.get("REQUIRE_REDIS_CLUSTER") == "1":
            raise RuntimeError("REQUIRE_REDIS_CLUSTER=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed: no Redis Cluster to test against")
    with redis_cluster(3) as urls:
        yield urls


@pytest_asyncio.fixture(scope="session")
async def cluster(cluster_urls):
    from redis.asyncio.cluster import RedisCluster

    client = RedisCluster.from_url(cluster_urls[0], decode_responses=True)
    await client.initialize()
    assert len(client.get_primaries()) == 3
    yield client
    await client.aclose()


@pytest.fixture(params=["redis", "cluster"])
def board_redis(request, redis):
    """Every board test runs on the single Redis and on the cluster."""
    if request.param == "redis":
        return redis
    return request.getfixturevalue("cluster")


_phones = itertools.count(random.randrange(10**7))


@dataclass
class Seeder:
    app: object

    async def user(self, full_name="Nguyễn Văn An", unit: str | None = "Sở Tư pháp",
                   province: str | None = "Hà Nội", **fields) -> int:
        async with self.app.state.runtime.sessionmaker() as db:
            user = User(full_name=full_name, phone=f"08{next(_phones) % 10**8:08d}", unit=unit, province=province,
                        password_hash="x", **fields)
            db.add(user)
            await db.commit()
            return user.id

    async def attempt(self, round_id: int, user_id: int, correct: int, time_ms: int, *,
                      submitted_at: datetime | None = None, prediction: int | None = None, total: int = 10,
                      seq: int | None = None) -> int:
        submitted_at = submitted_at or datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
        async with self.app.state.runtime.sessionmaker() as db:
            if seq is None:
                from sqlalchemy import func, select

                seq = (await db.scalar(select(func.count()).select_from(Attempt).where(
                    Attempt.round_id == round_id, Attempt.user_id == user_id))) + 1
            started = submitted_at - timedelta(milliseconds=time_ms)
            attempt = Attempt(round_id=round_id, user_id=user_id, seq=seq, status=SUBMITTED, started_at=started,
                              deadline=started + timedelta(hours=1), paper=[], prediction=prediction,
                              submitted_at=submitted_at, correct=correct, total=total, time_ms=time_ms)
            db.add(attempt)
            await db.commit()
            return attempt.id


@pytest.fixture
def seed(app) -> Seeder:
    return Seeder(app)


async def make_staff(app, user_id: int) -> None:
    """An admin account (the role issue 5's console grants); enough for the staff endpoints."""
    from sqlalchemy import update

    async with app.state.runtime.sessionmaker() as db:
        await db.execute(update(User).where(User.id == user_id).values(role="admin"))
        await db.commit()
