"""QueryCache on both backends: hits, misses, keys by data version, and no stale write-back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cache.backends import Backend, MemoryBackend, RedisBackend
from cache.codec import Codec
from cache.query_cache import Entry, QueryCache
from tests.cache.source import Source

TEXT = Codec(str)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return MemoryBackend(max_bytes=100_000)
    return RedisBackend(request.getfixturevalue("redis_url"), timeout_seconds=1)


@pytest.fixture
async def cache(backend: Backend) -> AsyncIterator[QueryCache]:
    cache = QueryCache(backend, ttl=60, timeout_seconds=1)
    yield cache
    await cache.close()


# The data versions a request read in its session check (db/data_versions.py).
V1 = {"t": 1, "t:a": 1, "t:b": 1, "all": 1}


async def test_second_read_is_a_hit(cache: QueryCache) -> None:
    source = Source({"a": "alpha"})
    for _ in range(2):
        assert await cache.get_or_load("a", ["t"], source.loader("a"), TEXT, versions=V1) == "alpha"
    assert len(source.loads) == 1
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


async def test_none_is_returned_but_not_cached(cache: QueryCache) -> None:
    source = Source({})
    for _ in range(2):
        found = await cache.get_or_load(
            "missing", ["t"], source.loader("missing"), TEXT, versions=V1
        )
        assert found is None
    assert len(source.loads) == 2


async def test_many_loads_only_the_misses_in_one_call(cache: QueryCache) -> None:
    source = Source({"a": "1", "b": "2", "c": "3"})
    await cache.get_or_load("a", ["t:a"], source.loader("a"), TEXT, versions=V1)
    entries = [Entry(k, k, (f"t:{k}",)) for k in ("a", "b", "c")]
    versions = {"t:a": 1, "t:b": 1, "t:c": 1}
    found = await cache.get_many_or_load(entries, source.load_many, TEXT, versions=versions)
    assert found == {"a": "1", "b": "2", "c": "3"}
    assert source.loads[-1] == ["b", "c"]


async def test_a_new_version_of_a_tag_misses_only_its_entries(cache: QueryCache) -> None:
    source = Source({"a": "old-a", "b": "old-b"})
    entries = [Entry("a", "a", ("t:a", "all")), Entry("b", "b", ("t:b", "all"))]
    await cache.get_many_or_load(entries, source.load_many, TEXT, versions=V1)
    source.values = {"a": "new-a", "b": "new-b"}
    v2 = {**V1, "t:a": 2}
    found = await cache.get_many_or_load(entries, source.load_many, TEXT, versions=v2)
    assert found == {"a": "new-a", "b": "old-b"}
    v3 = {**v2, "all": 2}
    found = await cache.get_many_or_load(entries, source.load_many, TEXT, versions=v3)
    assert found == {"a": "new-a", "b": "new-b"}


async def test_without_versions_every_read_goes_to_the_source(cache: QueryCache) -> None:
    """A read with no versions from the database (a mutation's, a socket's) is never cached."""
    source = Source({"a": "1"})
    await cache.get_or_load("a", ["t"], source.loader("a"), TEXT, versions=V1)
    for _ in range(2):
        assert await cache.get_or_load("a", ["t"], source.loader("a"), TEXT, versions=None) == "1"
    assert len(source.loads) == 3
    assert (cache.stats.hits, cache.stats.misses) == (0, 1)


async def test_a_load_that_straddles_a_write_is_not_served_afterwards(cache: QueryCache) -> None:
    """Versions read, write commits (new version), old value stored: only under the old key."""
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_old_load() -> str:
        started.set()
        await release.wait()
        return "old"

    async def read() -> str | None:
        return await cache.get_or_load("k", ["t"], slow_old_load, TEXT, versions=V1)

    reader = asyncio.create_task(read())
    await started.wait()
    # The writer committed "new" meanwhile, and with it version 2 of "t".
    release.set()
    assert await reader == "old"  # that reader read before the commit, fine

    async def new_load() -> str:
        return "new"

    assert await cache.get_or_load("k", ["t"], new_load, TEXT, versions={"t": 2}) == "new"


async def test_ttl_zero_turns_the_cache_off() -> None:
    cache = QueryCache(MemoryBackend(100_000), ttl=0, timeout_seconds=1)
    source = Source({"a": "1"})
    for _ in range(2):
        await cache.get_or_load("a", ["t"], source.loader("a"), TEXT, versions=V1)
    assert len(source.loads) == 2
    assert cache.stats.hits == cache.stats.misses == 0


async def test_memory_backend_evicts_least_recently_used() -> None:
    backend = MemoryBackend(max_bytes=2 * 102)  # two one-byte entries
    await backend.set_many({"a": b"1", "b": b"2"}, ttl=60)
    await backend.get_many(["a"])  # a is now more recent than b
    await backend.set_many({"c": b"3"}, ttl=60)
    assert await backend.get_many(["a", "b", "c"]) == [b"1", None, b"3"]


async def test_memory_backend_expires_entries() -> None:
    backend = MemoryBackend(max_bytes=1_000)
    await backend.set_many({"a": b"1"}, ttl=0)
    assert await backend.get_many(["a"]) == [None]


async def test_memory_backend_is_bounded_by_bytes() -> None:
    """Not by entries: a thousand 1 MB results must not fit where a thousand small ones do."""
    backend = MemoryBackend(max_bytes=1_000)
    await backend.set_many({f"k{i}": b"x" * 300 for i in range(5)}, ttl=60)
    found = await backend.get_many([f"k{i}" for i in range(5)])
    assert found == [None, None, None, b"x" * 300, b"x" * 300]
    await backend.set_many({"huge": b"x" * 2_000}, ttl=60)  # beyond the bound: not kept
    assert await backend.get_many(["huge", "k4"]) == [None, b"x" * 300]
