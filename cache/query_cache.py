"""Cached reads keyed by function name and parameters, invalidated by tags, failing open.

A key is `<name>:<params>` plus the current version of each of its tags; a write bumps the
versions of the tags it changes (after commit), which makes the old entries unreachable from
every process. Any cache failure (Redis down, slow, erroring) is counted and the value comes
from the database instead; a circuit breaker stops waiting on a Redis that keeps failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from cache.backends import Backend
from cache.breaker import CircuitBreaker
from cache.codec import Codec
from observability.metrics import CACHE

# Looked up once: labels() costs a lookup under a lock on every call.
CACHE_HITS, CACHE_MISSES = CACHE.labels("hit"), CACHE.labels("miss")

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
# v2: trades carry their place in the live feed.
PREFIX = "trading:cache:v2:"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    # Reads answered straight from the database because the breaker was open.
    bypassed: int = 0


@dataclass(frozen=True)
class Entry(Generic[K]):
    """One value to look up: its loader key, its cache key and the tags that invalidate it."""

    key: K
    cache_key: str
    tags: tuple[str, ...]


class QueryCache:
    def __init__(self, backend: Backend, *, ttl: int, timeout_seconds: float) -> None:
        self.backend = backend
        self.ttl = ttl
        self.stats = CacheStats()
        self.breaker = CircuitBreaker()
        # Invalidations that could not reach the backend: replayed before the next cached read,
        # and until then reads skip the cache rather than risk serving what they invalidate.
        self._pending: set[str] = set()
        self._timeout = timeout_seconds

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    async def get_or_load(
        self,
        cache_key: str,
        tags: Sequence[str],
        load: Callable[[], Awaitable[V | None]],
        codec: Codec[V],
    ) -> V | None:
        async def load_one(_: list[str]) -> dict[str, V | None]:
            return {cache_key: await load()}

        found = await self.get_many_or_load(
            [Entry(cache_key, cache_key, tuple(tags))], load_one, codec
        )
        return found.get(cache_key)

    async def get_many_or_load(
        self,
        entries: Sequence[Entry[K]],
        load: Callable[[list[K]], Awaitable[dict[K, V | None]]],
        codec: Codec[V],
    ) -> dict[K, V | None]:
        """Values for every entry: cached ones decoded, the rest loaded in one call and stored.

        None values (nothing found) are returned but never cached.
        """
        if not self.enabled or not entries:
            return await load([entry.key for entry in entries])
        keys = await self._versioned_keys(entries)
        if keys is None:
            return await load([entry.key for entry in entries])
        ok, cached = await self._call(self.backend.get_many(keys))
        if not ok or cached is None:
            return await load([entry.key for entry in entries])
        found: dict[K, V | None] = {}
        missing: list[tuple[Entry[K], str]] = []
        for entry, key, raw in zip(entries, keys, cached, strict=True):
            if raw is None:
                missing.append((entry, key))
            else:
                found[entry.key] = codec.decode(raw)
        self.stats.hits += len(found)
        self.stats.misses += len(missing)
        if found:
            CACHE_HITS.inc(len(found))
        if missing:
            CACHE_MISSES.inc(len(missing))
            loaded = await load([entry.key for entry, _ in missing])
            found.update(loaded)
            fresh = {
                key: codec.encode(value)
                for entry, key in missing
                if (value := loaded.get(entry.key)) is not None
            }
            if fresh:
                await self._call(self.backend.set_many(fresh, self.ttl))
        return found

    async def invalidate(self, tags: Sequence[str]) -> None:
        """Bump the tags' versions; call after the transaction that changed the data commits."""
        if not self.enabled or not tags:
            return
        self._pending.update(tags)
        await self._flush_pending(count_bypass=False)

    async def close(self) -> None:
        await self.backend.close()

    async def _versioned_keys(self, entries: Sequence[Entry[K]]) -> list[str] | None:
        if self._pending and not await self._flush_pending(count_bypass=True):
            return None
        tags = sorted({tag for entry in entries for tag in entry.tags})
        ok, versions = await self._call(self.backend.versions(tags))
        if not ok or versions is None:
            return None
        version_of = dict(zip(tags, versions, strict=True))
        return [
            PREFIX + entry.cache_key + "@" + ".".join(version_of[tag] for tag in entry.tags)
            for entry in entries
        ]

    async def _flush_pending(self, *, count_bypass: bool) -> bool:
        tags = sorted(self._pending)
        ok, _ = await self._call(self.backend.bump(tags), count_bypass=count_bypass)
        if not ok:
            return False
        self._pending.difference_update(tags)
        return True

    async def _call(
        self, operation: Awaitable[V], *, count_bypass: bool = True
    ) -> tuple[bool, V | None]:
        """Run one backend operation: (False, None) when it failed or the breaker is open."""
        if self.backend.in_process:
            return True, await operation
        if not self.breaker.allows():
            if count_bypass:
                self.stats.bypassed += 1
                CACHE.labels("bypassed").inc()
            _close(operation)
            return False, None
        try:
            async with asyncio.timeout(self._timeout * 4):
                result = await operation
        except Exception as error:  # any cache fault degrades to the database, never to a 500
            self.stats.errors += 1
            CACHE.labels("error").inc()
            self.breaker.record_failure()
            logger.warning("cache %s failed: %r", self.backend.name, error)
            return False, None
        self.breaker.record_success()
        return True, result


def _close(operation: Awaitable[object]) -> None:
    """Discard a coroutine that will not be awaited, without a 'never awaited' warning."""
    close = getattr(operation, "close", None)
    if close is not None:
        close()
