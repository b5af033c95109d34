"""arq workers' heartbeats in Redis: who is alive, and who went silent without shutting down.

Each worker writes Redis's own time (not its host's) every WORKER_HEARTBEAT_SECONDS, and readers
compare it with Redis's time: the hosts' clocks need not agree. A worker that shuts down removes
its heartbeat; one silent for WORKER_STALE_SECONDS is dead (killed, crashed or cut off from
Redis), and is remembered as lost for FORGET_SECONDS.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass

from redis.asyncio import Redis

# A hash: one field per worker (worker_name()), its last beat as Unix seconds of Redis's clock.
HEARTBEAT_KEY = "trading:workers:heartbeat"
# A dead worker's heartbeat is kept this long, so that admins see it was lost, then dropped.
FORGET_SECONDS = 3600.0


def worker_name() -> str:
    """A name no other worker, before or after, goes by: the host, the pid and a random part.

    In a container the host name and the pid (1) are the same after a restart: without the
    random part, the restarted worker would pass for the one that died, whose jobs then would
    never be run again.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def redis_time(redis: Redis) -> float:
    seconds, microseconds = await redis.time()
    return float(seconds + microseconds / 1_000_000)


async def beat(redis: Redis, name: str) -> None:
    """Write this worker's heartbeat: Redis's time now."""
    await redis.hset(HEARTBEAT_KEY, name, str(await redis_time(redis)))  # type: ignore[misc]


async def forget(redis: Redis, name: str) -> None:
    """A worker shutting down: not alive, and not lost either."""
    await redis.hdel(HEARTBEAT_KEY, name)  # type: ignore[misc]


@dataclass(frozen=True)
class Liveness:
    """Seconds since each worker's last heartbeat, alive ones apart from lost ones."""

    live: dict[str, float]
    lost: dict[str, float]


async def liveness(redis: Redis, stale_seconds: float) -> Liveness:
    """The workers alive and those lost; lost ones older than FORGET_SECONDS are dropped."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.time()
        pipe.hgetall(HEARTBEAT_KEY)
        (seconds, microseconds), beats = await pipe.execute()
    now = seconds + microseconds / 1_000_000
    ages = {name.decode(): now - float(at) for name, at in beats.items()}
    if forgotten := [name for name, age in ages.items() if age > FORGET_SECONDS]:
        await redis.hdel(HEARTBEAT_KEY, *forgotten)  # type: ignore[misc]
    return Liveness(
        live={name: age for name, age in ages.items() if age <= stale_seconds},
        lost={name: age for name, age in ages.items() if stale_seconds < age <= FORGET_SECONDS},
    )
