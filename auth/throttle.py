"""Login throttling: failed sign-ins are counted per account and per client address.

Past the limit, sign-in answers 429 with Retry-After until the window ends, whatever the
password: guessing stops being worth it. Unknown emails are counted like known ones, so the
answers do not reveal which accounts exist. Counters live in Redis with REDIS_URL (shared by
every process), else in the process. A Redis that does not answer lets sign-in through (and
logs it): throttling must not take sign-in down with it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from settings import Settings

logger = logging.getLogger(__name__)
KEY_PREFIX = "trading-api:login-failures"
# The in-process store forgets the oldest keys beyond this many (one per account or address).
MAX_MEMORY_KEYS = 100_000


class TooManyAttemptsError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; retry after {retry_after} s")
        self.retry_after = retry_after


class Counters(Protocol):
    async def get(self, key: str) -> tuple[int, float]:
        """The count in the current window and the seconds left in it."""
        ...

    async def hit(self, key: str, window: int) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window ends at)

    async def get(self, key: str) -> tuple[int, float]:
        count, ends = self._counts.get(key, (0, 0.0))
        left = ends - time.monotonic()
        return (count, left) if left > 0 else (0, 0.0)

    async def hit(self, key: str, window: int) -> None:
        count, left = await self.get(key)
        ends = time.monotonic() + (left if count else window)
        self._counts.pop(key, None)
        self._counts[key] = (count + 1, ends)
        if len(self._counts) > MAX_MEMORY_KEYS:
            del self._counts[next(iter(self._counts))]

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    async def close(self) -> None:
        pass


class RedisCounters:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)

    async def get(self, key: str) -> tuple[int, float]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            count, ttl = await pipe.execute()
        return (int(count), ttl / 1000) if count is not None and ttl > 0 else (0, 0.0)

    async def hit(self, key: str, window: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            # The window starts at the first failure: EXPIRE NX leaves a running one alone.
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()


@dataclass
class LoginThrottle:
    counters: Counters
    max_per_account: int
    max_per_address: int
    window_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        counters: Counters = (
            RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
        )
        return cls(
            counters,
            max_per_account=settings.login_max_failures_per_account,
            max_per_address=settings.login_max_failures_per_address,
            window_seconds=settings.login_failure_window_seconds,
        )

    async def check(self, email: str, address: str) -> None:
        """TooManyAttemptsError when the account or the address used up its failures."""
        limits = ((_key("account", email), self.max_per_account),
                  (_key("address", address), self.max_per_address))  # fmt: skip
        for key, limit in limits:
            try:
                count, left = await self.counters.get(key)
            except (RedisError, OSError) as error:
                logger.warning("login throttle unavailable, not applied: %s", error)
                return
            if count >= limit:
                raise TooManyAttemptsError(max(1, round(left)))

    async def failed(self, email: str, address: str) -> None:
        try:
            await self.counters.hit(_key("account", email), self.window_seconds)
            await self.counters.hit(_key("address", address), self.window_seconds)
        except (RedisError, OSError) as error:
            logger.warning("login throttle unavailable, failure not counted: %s", error)

    async def succeeded(self, email: str) -> None:
        """The account's failures are forgiven; the address's are not."""
        try:
            await self.counters.clear(_key("account", email))
        except (RedisError, OSError) as error:
            logger.warning("login throttle unavailable: %s", error)


def _key(kind: str, value: str) -> str:
    # Hashed: the store holds no emails or addresses.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{kind}:{digest}"
