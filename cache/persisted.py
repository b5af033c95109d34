"""Documents of automatic persisted queries by the sha256 of their text: in Redis with REDIS_URL
(so that a document registered on one process is found by the others), else in this process;
bounded by bytes either way, the oldest forgotten first.

A document is kept whole under its hash, which the caller has checked; forgetting one costs its
client a retry with the document (Apollo's link sends it on PERSISTED_QUERY_NOT_FOUND). So a Redis
that fails or is slow is a miss, never an error.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from cache.backends import MemoryBackend, RedisBackend

logger = logging.getLogger(__name__)
KEY_PREFIX = "apq:"
INDEX = "apq:index"
# A document never changes under its hash: kept until the byte bound evicts it; the TTL only
# lets a deployment that stopped using a document forget it.
TTL_SECONDS = 30 * 24 * 3600


class PersistedDocuments:
    def __init__(self, backend: MemoryBackend | RedisBackend, max_bytes: int) -> None:
        self.backend = backend
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(
        cls, redis_url: str | None, max_bytes: int, timeout_seconds: float
    ) -> PersistedDocuments:
        backend: MemoryBackend | RedisBackend = (
            RedisBackend(redis_url, timeout_seconds) if redis_url else MemoryBackend(max_bytes)
        )
        return cls(backend, max_bytes)

    async def get(self, sha256_hash: str) -> str | None:
        try:
            (found,) = await self.backend.get_many([KEY_PREFIX + sha256_hash])
        except (RedisError, OSError):
            logger.warning("persisted query store unavailable: answered as a miss", exc_info=True)
            return None
        return found.decode() if found is not None else None

    async def put(self, sha256_hash: str, document: str) -> None:
        try:
            await self.backend.set_bounded(
                INDEX, KEY_PREFIX + sha256_hash, document.encode(), TTL_SECONDS, self.max_bytes
            )
        except (RedisError, OSError):
            logger.warning("persisted query store unavailable: not stored", exc_info=True)

    async def close(self) -> None:
        await self.backend.close()
