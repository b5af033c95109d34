"""Redis for the cache tests: a real server, its own logical database, emptied around each test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

CACHE_REDIS_URL = (
    os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0] + "/14"
)


async def _flush(url: str) -> None:
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture
async def cache_redis_url() -> AsyncIterator[str]:
    """Fails under CI=true, skips loudly elsewhere, when Redis is not reachable."""
    try:
        await _flush(CACHE_REDIS_URL)
    except (RedisError, OSError) as error:
        reason = f"Redis unreachable at {CACHE_REDIS_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield CACHE_REDIS_URL
    await _flush(CACHE_REDIS_URL)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers: a hung Redis."""
    connections: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while await reader.read(1024):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    yield port
    for writer in connections:
        writer.close()
    server.close()
    await server.wait_closed()
