"""arq workers' heartbeats in Redis: each worker writes the time every few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

from redis.asyncio import Redis

logger = logging.getLogger(__name__)
# A hash: one field per worker (host:pid), its last beat as Unix seconds.
HEARTBEAT_KEY = "trading:workers:heartbeat"
INTERVAL_SECONDS = 10.0
# A worker silent for this long is gone; its field is dropped by the next reader.
STALE_SECONDS = 6 * INTERVAL_SECONDS


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def beat_forever(redis: Redis, name: str, interval: float = INTERVAL_SECONDS) -> None:
    """Write this worker's heartbeat until cancelled; a failed write is logged and retried."""
    try:
        while True:
            try:
                await redis.hset(HEARTBEAT_KEY, name, str(time.time()))  # type: ignore[misc]
            except Exception:  # Redis down: the next beat tries again
                logger.warning("could not write the worker heartbeat", exc_info=True)
            await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(redis.hdel(HEARTBEAT_KEY, name))  # type: ignore[arg-type]


async def live_workers(redis: Redis) -> dict[str, float]:
    """Age in seconds of each live worker's last heartbeat; stale ones are removed."""
    beats = await redis.hgetall(HEARTBEAT_KEY)  # type: ignore[misc]
    now = time.time()
    ages = {name.decode(): now - float(at) for name, at in beats.items()}
    if stale := [name for name, age in ages.items() if age > STALE_SECONDS]:
        await redis.hdel(HEARTBEAT_KEY, *stale)  # type: ignore[misc]
    return {name: age for name, age in ages.items() if age <= STALE_SECONDS}
