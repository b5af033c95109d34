"""Rate limits: at most N hits per subject (an account, an address, a user) in a fixed window.

One mechanism for every caller: sign-in and registration (auth/throttle.py), report requests
(resolvers), sockets. A hit is taken before the work it pays for, in one atomic step that
checks and counts, so requests arriving together cannot all see room. The window starts at a
subject's first hit. Counters live in Redis with REDIS_URL (shared by every process; a Lua
script makes the step atomic), else in the process (a bounded dict). A Redis that does not
answer lets requests through and logs a warning: a limit must not take the API down with it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from settings import Settings

logger = logging.getLogger(__name__)
KEY_PREFIX = "trading-api:rate"
# The in-process store forgets the oldest keys beyond this many (one per rule and subject).
MAX_MEMORY_KEYS = 100_000
REDIS_TIMEOUT_SECONDS = 0.5

# Counts one hit on every key, or on none when one of them is full (then answers the
# milliseconds until the last full one has room). KEYS: counters; ARGV: limit, window ms, ...
_TAKE = """
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then  -- a full counter without expiry would lock its subject out for good
      ttl = tonumber(ARGV[2 * i])
      redis.call('PEXPIRE', key, ttl)
    end
    wait = math.max(wait, ttl)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
end
return 0
"""
# One hit fewer, if the window still runs (a missing key must not come back without expiry).
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
"""


@dataclass(frozen=True)
class Rule:
    """At most `limit` hits per `window_seconds` for each subject; `name` keeps rules apart."""

    name: str
    limit: int
    window_seconds: int


class RateLimitExceeded(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


class Store(Protocol):
    async def take(self, keys: Sequence[str], rules: Sequence[Rule]) -> float:
        """Count a hit on every key, or on none if one is full: 0, or seconds until room."""
        ...

    async def give_back(self, key: str) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """One process's counters; nothing awaits between the check and the count: atomic."""

    def __init__(self, max_keys: int = MAX_MEMORY_KEYS) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window ends at)
        self._max_keys = max_keys

    def _current(self, key: str, now: float) -> tuple[int, float]:
        count, ends = self._counts.get(key, (0, 0.0))
        return (count, ends) if ends > now else (0, 0.0)

    async def take(self, keys: Sequence[str], rules: Sequence[Rule]) -> float:
        now = time.monotonic()
        current = [self._current(key, now) for key in keys]
        full = [ends - now for (count, ends), rule in zip(current, rules, strict=True)
                if count >= rule.limit]  # fmt: skip
        if full:
            return max(full)
        for key, (count, ends), rule in zip(keys, current, rules, strict=True):
            self._counts.pop(key, None)  # re-inserted last: the oldest keys go first
            self._counts[key] = (count + 1, ends if count else now + rule.window_seconds)
        while len(self._counts) > self._max_keys:
            del self._counts[next(iter(self._counts))]
        return 0.0

    async def give_back(self, key: str) -> None:
        count, ends = self._current(key, time.monotonic())
        if count > 0:
            self._counts[key] = (count - 1, ends)

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    async def close(self) -> None:
        pass


class RedisStore:
    """Counters every process shares; each step is one Lua script, atomic in Redis."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._take = self._redis.register_script(_TAKE)
        self._give_back = self._redis.register_script(_GIVE_BACK)

    async def take(self, keys: Sequence[str], rules: Sequence[Rule]) -> float:
        args = [value for rule in rules for value in (rule.limit, rule.window_seconds * 1000)]
        wait_ms = await self._take(keys=list(keys), args=args)
        return int(wait_ms) / 1000

    async def give_back(self, key: str) -> None:
        await self._give_back(keys=[key])

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """Takes, gives back and clears hits under rules; fails open when the store does not answer."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(RedisStore(settings.redis_url) if settings.redis_url else MemoryStore())

    async def take(self, *hits: tuple[Rule, str]) -> None:
        """One hit for each (rule, subject), all or none; RateLimitExceeded if one is full."""
        rules = [rule for rule, _ in hits]
        try:
            wait = await self.store.take([_key(rule, subject) for rule, subject in hits], rules)
        except (RedisError, OSError) as error:
            logger.warning("rate limits unavailable, not applied: %s", error)
            return
        if wait > 0:
            raise RateLimitExceeded(max(1, round(wait)))

    async def give_back(self, rule: Rule, subject: str) -> None:
        """Undo one hit: the work it reserved turned out not to count (a successful sign-in)."""
        try:
            await self.store.give_back(_key(rule, subject))
        except (RedisError, OSError) as error:
            logger.warning("rate limits unavailable, hit not given back: %s", error)

    async def clear(self, rule: Rule, subject: str) -> None:
        """Forget the subject's hits under this rule."""
        try:
            await self.store.clear(_key(rule, subject))
        except (RedisError, OSError) as error:
            logger.warning("rate limits unavailable, count not cleared: %s", error)

    async def close(self) -> None:
        await self.store.close()


def _key(rule: Rule, subject: str) -> str:
    # Hashed: the store holds no emails or addresses.
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{rule.name}:{digest}"
