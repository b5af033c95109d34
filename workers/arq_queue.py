"""Enqueueing to Redis, for separate `arq workers.WorkerSettings` processes to run."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs
from db.types import utcnow
from workers.queue import JobQueue

# The relay waits this long at most for Redis to take a job (a hung server answers never).
ENQUEUE_TIMEOUT_SECONDS = 2
# A recorded job unfinished this long after it was enqueued is handed to arq again, idempotently
# (arq drops a job it still holds, queued or running): short enough that a job lost with Redis
# still completes within the 30 s docs/operations.md promises.
RECOVER_AFTER = timedelta(seconds=10)
RECOVER_BATCH = 100


class ArqJobs(JobQueue):
    """Puts the jobs the relay hands on in arq's queue in Redis, under their own ids."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis_url: str) -> None:
        super().__init__(sessions)
        # One connection attempt per call: arq's default retries for seconds, holding the request.
        self._redis_settings = dataclasses.replace(
            RedisSettings.from_dsn(redis_url), conn_retries=0
        )
        self._pool: ArqRedis | None = None
        self._connecting = asyncio.Lock()

    async def dispatch(self, kind: str, job_id: str, arguments: dict[str, Any]) -> None:
        async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
            pool = await self._connection()
            # Under our id, so arq drops a second enqueue of the same job (a relay that died
            # between handing it on and deleting its outbox message).
            await pool.enqueue_job(kind, _job_id=job_id, **arguments)

    async def recover(self) -> None:
        """Recorded jobs unfinished for a while are enqueued again, under their ids and with the
        arguments their records keep: arq drops each one it still holds, and queues those a
        Redis restarted without its data lost."""
        async with self._sessions() as session:
            lost = await jobs.unfinished(
                session, enqueued_before=utcnow() - RECOVER_AFTER, limit=RECOVER_BATCH
            )
        for job in lost:
            await self.dispatch(job.kind, job.id, job.arguments)

    async def _connection(self) -> ArqRedis:
        # Connected on first use, not at start-up: the API starts, and serves, with Redis down.
        async with self._connecting:
            if self._pool is None:
                self._pool = await create_pool(self._redis_settings)
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
