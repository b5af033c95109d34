"""Redis servers the cache tests may break: a hung one, and one of their own to stop and pause
(a real, empty Redis that stays up is tests/conftest.py's `redis_url`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.utils.redis_server import RedisServer


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


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, keeping its data across restarts (an append-only file,
    as a production Redis would), so the test can stop and pause it."""
    with RedisServer(tmp_path / "redis", persistent=True) as server:
        yield server
