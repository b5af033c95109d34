"""Password hashing: argon2id through passlib's API (the `libpass` fork), off the event loop and a
few at a time.

Each hash or verification takes 64 MiB and most of a core for a tenth of a second or more, so
they queue for a bounded number of worker threads (PASSWORD_HASH_CONCURRENCY) instead of taking
every thread and core at once. Callers hold no database connection while they wait.
"""

from __future__ import annotations

from functools import cache

import anyio
import anyio.to_thread
from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], argon2__type="ID", deprecated="auto")


@cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so a wrong email costs as long as a wrong password and
    response times do not reveal which accounts exist. Made on first use, in a worker thread:
    at import it was a full argon2 hash (64 MiB, a tenth of a second of CPU or more) before the
    process could answer anything."""
    return str(_context.hash("not-a-real-password"))


class PasswordHasher:
    """argon2id in worker threads, at most `concurrency` of them at once."""

    def __init__(self, concurrency: int) -> None:
        self._threads = anyio.CapacityLimiter(concurrency)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(_context.hash, password, limiter=self._threads)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        matches = await anyio.to_thread.run_sync(
            _verify, password, password_hash, limiter=self._threads
        )
        return matches and password_hash is not None


def _verify(password: str, password_hash: str | None) -> bool:
    return bool(_context.verify(password, password_hash or _dummy_hash()))
