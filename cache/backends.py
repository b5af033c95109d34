"""Where cached values live: Redis for a deployment, an in-process LRU for the embedded default.

Both store opaque bytes under string keys with a TTL, and keep per-tag version tokens. A write
replaces the versions of the tags it touches; cache keys embed the versions they were built
from, so a replaced version makes every older entry unreachable on every process at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cache.lru import ByteLRU

# What an entry weighs beyond its key and value (the tuple, the map's slot).
ENTRY_OVERHEAD_BYTES = 100


def new_version() -> str:
    return uuid.uuid4().hex[:12]


class Backend(Protocol):
    name: str
    in_process: bool

    async def versions(self, tags: Sequence[str]) -> list[str]:
        """The current version token of each tag (created when missing)."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set_many(self, items: dict[str, bytes], ttl: int) -> None: ...

    async def bump(self, tags: Sequence[str]) -> None:
        """Give each tag a new version: everything cached under the old one is gone."""

    async def close(self) -> None: ...


class MemoryBackend:
    """An LRU of values with expiry times, bounded by the bytes they weigh; version tokens are
    kept apart and never evicted (an evicted version would bring back entries built under it)."""

    name = "memory"
    # In this process: nothing to wait for, no failure to break the circuit on.
    in_process = True

    def __init__(self, max_bytes: int) -> None:
        self._values: ByteLRU[tuple[float, bytes]] = ByteLRU(max_bytes)
        self._versions: dict[str, str] = {}

    async def versions(self, tags: Sequence[str]) -> list[str]:
        return [self._versions.setdefault(tag, new_version()) for tag in tags]

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        found: list[bytes | None] = []
        for key in keys:
            entry = self._values.get(key)
            if entry is None or entry[0] <= now:
                self._values.pop(key)
                found.append(None)
                continue
            found.append(entry[1])
        return found

    async def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        expires = time.monotonic() + ttl
        for key, value in items.items():
            weight = len(key) + len(value) + ENTRY_OVERHEAD_BYTES
            self._values.put(key, (expires, value), weight)

    async def bump(self, tags: Sequence[str]) -> None:
        for tag in tags:
            self._versions[tag] = new_version()

    async def close(self) -> None:
        self._values.clear()


class RedisBackend:
    """Redis with short timeouts and no retries: a slow Redis must cost milliseconds, not seconds.

    Errors propagate; QueryCache counts them and fails open.
    """

    name = "redis"
    in_process = False
    VERSION_PREFIX = "trading:cache:version:"

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self._redis = Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )

    async def versions(self, tags: Sequence[str]) -> list[str]:
        keys = [self.VERSION_PREFIX + tag for tag in tags]
        found = await self._redis.mget(keys)
        missing = {
            key: new_version() for key, value in zip(keys, found, strict=True) if value is None
        }
        if missing:
            # SET NX: concurrent first readers agree on one token.
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, token in missing.items():
                    pipe.set(key, token, nx=True)
                await pipe.execute()
            found = await self._redis.mget(keys)
        return [value.decode() if value is not None else "" for value in found]

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = await self._redis.mget(list(keys))
        return values

    async def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(key, value, ex=ttl)
            await pipe.execute()

    async def bump(self, tags: Sequence[str]) -> None:
        await self._redis.mset({self.VERSION_PREFIX + tag: new_version() for tag in tags})

    async def close(self) -> None:
        await self._redis.aclose()
