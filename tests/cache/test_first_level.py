"""With Redis, each process keeps the entries it used last in front of it, decoded: a hot entry
costs no Redis round trip, and keys carrying the data versions keep it as fresh as Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from cache.backends import MemoryBackend, RedisBackend
from cache.codec import Codec
from cache.query_cache import QueryCache
from tests.cache.source import Source

NUMBERS = Codec(list[int])


@pytest.fixture
async def caches(redis_url: str) -> AsyncIterator[tuple[QueryCache, QueryCache]]:
    """Two processes' caches over one Redis."""
    a, b = (
        QueryCache(
            RedisBackend(redis_url, timeout_seconds=1),
            ttl=60,
            timeout_seconds=1,
            local_bytes=100_000,
        )
        for _ in range(2)
    )
    yield a, b
    await a.close()
    await b.close()


async def test_a_hot_entry_is_answered_without_redis_and_never_older_than_the_versions(
    caches: tuple[QueryCache, QueryCache], redis_url: str
) -> None:
    a, b = caches
    source = Source({"k": "one"})
    codec = Codec(str)
    assert await a.get_or_load("k", ["t"], source.loader("k"), codec, versions={"t": 1}) == "one"
    # b finds it in Redis, then keeps it: with Redis emptied, b still answers it, a too.
    assert await b.get_or_load("k", ["t"], source.loader("k"), codec, versions={"t": 1}) == "one"
    async with Redis.from_url(redis_url) as redis:
        await redis.flushdb()
    for cache in (a, b):
        assert await cache.get_or_load("k", ["t"], source.loader("k"), codec, versions={"t": 1})
    assert len(source.loads) == 1
    # A write on a's side bumps the version; b's next request sees it and reads the new value.
    source.values["k"] = "two"
    assert await b.get_or_load("k", ["t"], source.loader("k"), codec, versions={"t": 2}) == "two"
    assert len(source.loads) == 2


async def test_a_caller_changing_its_list_does_not_change_the_next_callers(
    caches: tuple[QueryCache, QueryCache],
) -> None:
    a, _ = caches

    async def load() -> list[int]:
        return [1, 2, 3]

    for _ in range(3):
        numbers = await a.get_or_load("n", ["t"], load, NUMBERS, versions={"t": 1})
        assert numbers == [1, 2, 3]
        numbers.append(4)


async def test_without_redis_there_is_one_level(redis_url: str) -> None:
    assert (
        QueryCache(MemoryBackend(1_000), ttl=60, timeout_seconds=1, local_bytes=1_000).local is None
    )
    remote = QueryCache(
        RedisBackend(redis_url, timeout_seconds=1), ttl=60, timeout_seconds=1, local_bytes=1_000
    )
    assert remote.local is not None
    await remote.close()
