"""Where cached values live: Redis for a deployment, an in-process LRU for the embedded default.

Both store opaque bytes under string keys with a TTL, and nothing else: the versions that keys
embed live in the database (db/data_versions.py), so losing either store loses only values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cache.lru import ByteLRU

# What an entry weighs beyond its key and value (the tuple, the map's slot).
ENTRY_OVERHEAD_BYTES = 100
# KEYS: the index (a sorted set of keys, oldest first, each's weight in a hash beside it), the
# index's total, the key; ARGV: the value, its TTL, the bound. Weights are the index's own, so an
# expired key is still accounted for when it is evicted.
SET_BOUNDED = """
local index, total_key, key = KEYS[1], KEYS[2], KEYS[3]
local weights = index .. ':weights'
if redis.call('HEXISTS', weights, key) == 1 then
  redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
  return 0
end
local weight = #ARGV[1] + #key
redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
redis.call('HSET', weights, key, weight)
redis.call('ZADD', index, redis.call('INCR', index .. ':seq'), key)
local total = redis.call('INCRBY', total_key, weight)
while total > tonumber(ARGV[3]) do
  local oldest = redis.call('ZPOPMIN', index)
  if #oldest == 0 then break end
  local evicted = tonumber(redis.call('HGET', weights, oldest[1]) or '0')
  redis.call('HDEL', weights, oldest[1])
  redis.call('DEL', oldest[1])
  total = redis.call('DECRBY', total_key, evicted)
end
return 1
"""


class Backend(Protocol):
    name: str
    in_process: bool

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set_many(self, items: dict[str, bytes], ttl: int) -> None: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """An LRU of values with expiry times, bounded by the bytes they weigh."""

    name = "memory"
    # In this process: nothing to wait for, no failure to break the circuit on.
    in_process = True

    def __init__(self, max_bytes: int) -> None:
        self._values: ByteLRU[tuple[float, bytes]] = ByteLRU(max_bytes)

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

    async def set_bounded(
        self, index: str, key: str, value: bytes, ttl: int, max_bytes: int
    ) -> None:
        """`key` kept among the entries of `index`; here every entry is bounded together by the
        LRU's bytes (`max_bytes` is Redis's, which has no bound of its own for one use)."""
        await self.set_many({key: value}, ttl)

    def stored_keys(self) -> list[str]:
        """The keys held (expired ones too, until looked up): what Redis's SCAN lists."""
        return [str(key) for key in self._values]

    async def close(self) -> None:
        self._values.clear()


class RedisBackend:
    """Redis with short timeouts and no retries: a slow Redis must cost milliseconds, not seconds.

    Errors propagate; QueryCache counts them and fails open.
    """

    name = "redis"
    in_process = False

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self._redis = Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = await self._redis.mget(list(keys))
        return values

    async def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(key, value, ex=ttl)
            await pipe.execute()

    async def set_bounded(
        self, index: str, key: str, value: bytes, ttl: int, max_bytes: int
    ) -> None:
        """`key` kept among the entries of `index`, which together weigh at most `max_bytes`:
        the oldest entries are deleted first, in one script (no other client sees it half done).
        An entry that expires is still counted until it is the oldest."""
        await self._redis.eval(SET_BOUNDED, 3, index, f"{index}:bytes", key, value, ttl, max_bytes)

    async def close(self) -> None:
        await self._redis.aclose()
