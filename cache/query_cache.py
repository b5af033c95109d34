"""Cached reads keyed by function name, parameters and the versions of the data they read.

A key is `<name>:<params>` plus the version of each of its tags (the tables it reads). The
versions live in the database (db/data_versions.py): a write bumps them in its own transaction,
and a request reads them in the statement it sends anyway (its session check). An entry can
only be found by a request that has seen no write of its tables since the entry's data was read,
so nothing needs invalidating in Redis, and nothing Redis does (down, hung, restarted, flushed)
can make a read older than a commit the request could see. Entries no key names any more expire
with their TTL, or are evicted.

With Redis, a first level in this process sits in front of it, keeping values decoded: keys
carry the versions, so a value found there is exactly what Redis would have answered, and a hot
entry costs no Redis round trip and no decoding. Its bound is the in-process cache's.

Any cache failure (Redis down, slow, erroring) is counted and the value comes from the database
instead; a circuit breaker stops waiting on a Redis that keeps failing. Keys embed the format
version of their codec (derived from the records' fields, cache/codec.py), so a release never
asks for another release's entries; an entry that does not decode anyway (garbage, a shape the
version did not tell apart) is a miss: reloaded and overwritten, never an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cache.backends import ENTRY_OVERHEAD_BYTES, Backend
from cache.breaker import CircuitBreaker
from cache.codec import Codec, Undecodable
from cache.lru import ByteLRU
from db.data_versions import Versions
from observability.metrics import CACHE

# Looked up once: labels() costs a lookup under a lock on every call.
CACHE_HITS, CACHE_MISSES = CACHE.labels("hit"), CACHE.labels("miss")

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
PREFIX = "trading:cache:"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    # Reads answered straight from the database because the breaker was open.
    bypassed: int = 0
    # Entries found that did not decode (counted among the misses too).
    undecodable: int = 0


@dataclass(frozen=True)
class Entry(Generic[K]):
    """One value to look up: its loader key, its cache key and the tags whose versions it
    depends on."""

    key: K
    cache_key: str
    tags: tuple[str, ...]


class QueryCache:
    def __init__(
        self, backend: Backend, *, ttl: int, timeout_seconds: float, local_bytes: int = 0
    ) -> None:
        self.backend = backend
        # The first level in front of a remote backend: by key, (expiry, decoded value).
        self.local: ByteLRU[tuple[float, Any]] | None = (
            ByteLRU(local_bytes) if local_bytes and not backend.in_process else None
        )
        self.ttl = ttl
        self.stats = CacheStats()
        self.breaker = CircuitBreaker()
        self._timeout = timeout_seconds
        # Formats whose undecodable entries were logged as a warning; later ones go to debug.
        self._warned: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    async def get_or_load(
        self,
        cache_key: str,
        tags: Sequence[str],
        load: Callable[[], Awaitable[V | None]],
        codec: Codec[V],
        *,
        versions: Versions | None,
    ) -> V | None:
        async def load_one(_: list[str]) -> dict[str, V | None]:
            return {cache_key: await load()}

        found = await self.get_many_or_load(
            [Entry(cache_key, cache_key, tuple(tags))], load_one, codec, versions=versions
        )
        return found.get(cache_key)

    async def get_many_or_load(
        self,
        entries: Sequence[Entry[K]],
        load: Callable[[list[K]], Awaitable[dict[K, V | None]]],
        codec: Codec[V],
        *,
        versions: Versions | None,
    ) -> dict[K, V | None]:
        """Values for every entry: cached ones decoded, the rest loaded in one call and stored.

        `versions` are the data versions the caller read from the database before calling (they
        must come before the load, so that a value is never older than the key it is stored
        under); without them every value is loaded. None values (nothing found) are returned but
        never cached.
        """
        if not self.enabled or not entries or versions is None:
            return await load([entry.key for entry in entries])
        prefix = f"{PREFIX}{codec.version}:"
        keys = [
            prefix + entry.cache_key + "@" + ".".join(str(versions[tag]) for tag in entry.tags)
            for entry in entries
        ]
        found: dict[K, V | None] = {}
        remote = list(zip(entries, keys, strict=True))
        if (local := self.local) is not None:
            remote = [
                (entry, key)
                for entry, key in remote
                if not _found_in(local, entry, key, found, codec)
            ]
        missing: list[tuple[Entry[K], str]] = []
        if remote:
            ok, cached = await self._call(self.backend.get_many([key for _, key in remote]))
            if not ok or cached is None:
                self._count_hits(len(found))
                found.update(await load([entry.key for entry, _ in remote]))
                return found
            for (entry, key), raw in zip(remote, cached, strict=True):
                if raw is not None:
                    try:
                        found[entry.key] = value = codec.decode(raw)
                        self._keep_here(key, codec.handed_out(value), len(raw))
                        continue
                    except Undecodable as error:
                        self._undecodable(codec, key, error)
                missing.append((entry, key))
        self._count_hits(len(found))
        self.stats.misses += len(missing)
        if missing:
            CACHE_MISSES.inc(len(missing))
            loaded = await load([entry.key for entry, _ in missing])
            found.update(loaded)
            fresh: dict[str, bytes] = {}
            for entry, key in missing:
                if (result := loaded.get(entry.key)) is not None:
                    fresh[key] = raw = codec.encode(result)
                    self._keep_here(key, codec.handed_out(result), len(raw))
            if fresh:
                await self._call(self.backend.set_many(fresh, self.ttl))
        return found

    def _count_hits(self, hits: int) -> None:
        self.stats.hits += hits
        if hits:
            CACHE_HITS.inc(hits)

    def _keep_here(self, key: str, value: object, size: int) -> None:
        if self.local is not None:
            expires = time.monotonic() + self.ttl
            self.local.put(key, (expires, value), len(key) + size + ENTRY_OVERHEAD_BYTES)

    async def close(self) -> None:
        await self.backend.close()

    def _undecodable(self, codec: Codec[V], key: str, error: Undecodable) -> None:
        self.stats.undecodable += 1
        CACHE.labels("undecodable").inc()
        # Once per format as a warning: after a deploy every old entry would say the same.
        level = logging.DEBUG if codec.version in self._warned else logging.WARNING
        self._warned.add(codec.version)
        logger.log(level, "cache entry %s does not decode, reloading it: %s", key, error)

    async def _call(self, operation: Awaitable[V]) -> tuple[bool, V | None]:
        """Run one backend operation: (False, None) when it failed or the breaker is open."""
        if self.backend.in_process:
            return True, await operation
        if not self.breaker.allows():
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


def _found_in(
    local: ByteLRU[tuple[float, Any]],
    entry: Entry[K],
    key: str,
    found: dict[K, V | None],
    codec: Codec[V],
) -> bool:
    """Looked up in the first level; True (and the value in `found`) when it holds it."""
    kept = local.get(key)
    if kept is None:
        return False
    if kept[0] <= time.monotonic():
        local.pop(key)
        return False
    found[entry.key] = codec.handed_out(kept[1])
    return True
