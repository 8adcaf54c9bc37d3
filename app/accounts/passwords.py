"""Argon2id password hashing, with bounded concurrency.

Hashing is CPU-bound (~20-50 ms at the production cost) and runs outside the event loop, in a
small pool of threads of its own (PASSWORD_HASH_THREADS per process), so that a burst of logins
at 07:30 cannot take every core from the answer saves of people already inside an attempt. Up to
PASSWORD_HASH_QUEUE more wait their turn in arrival order (a fraction of a second); beyond that the
request is refused at once with 429, Retry-After and a Vietnamese "try again in a moment", which
the login and registration pages show on the form."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.config import get_settings
from app.core.errors import AppError


@lru_cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1)


class HashingBusy(AppError):
    status = 429

    def __init__(self, seconds: int):
        super().__init__(
            "busy_try_again",
            f"Đang có rất nhiều người đăng nhập cùng lúc. Vui lòng thử lại sau {seconds} giây.",
            details={"retry_after_seconds": seconds},
            headers={"Retry-After": str(seconds)},
        )


class HashPool:
    """`threads` hashes at a time in this process, `queue` more waiting (FIFO), the rest refused."""

    SECONDS_PER_HASH = 0.05  # the production cost, rounded up (make bench measures it)

    def __init__(self, threads: int, queue: int):
        self.threads = max(1, threads)
        self.limit = self.threads + max(0, queue)
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix="argon2")
        self.in_flight = 0
        # Told of every hash done (the password line follows the pace really achieved).
        self.on_done: Callable[[], None] | None = None

    async def run(self, fn, *args):
        if self.in_flight >= self.limit:
            raise HashingBusy(max(1, math.ceil(self.in_flight / self.threads * self.SECONDS_PER_HASH)))
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            self.in_flight -= 1
            if self.on_done is not None:
                self.on_done()


_pool: HashPool | None = None


def pool() -> HashPool:
    global _pool
    if _pool is None:
        settings = get_settings()
        _pool = HashPool(settings.password_hash_threads, settings.password_hash_queue)
    return _pool


async def hash_password(password: str) -> str:
    return await pool().run(_hasher().hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await pool().run(_verify, password_hash, password)


# Verified against when the account does not exist, so a wrong phone number costs the same time
# as a wrong password and response timing does not reveal who is registered.
_DUMMY_HASH: str | None = None


async def burn_verification_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = await hash_password("not-a-real-password")
    await verify_password(_DUMMY_HASH, password)
