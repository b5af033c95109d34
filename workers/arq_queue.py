"""Enqueueing to Redis, for separate `arq workers.WorkerSettings` processes to run."""

from __future__ import annotations

import asyncio
import dataclasses

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs
from workers.queue import RECORDED, new_job

# A request waits this long at most for Redis to take a job (a hung server answers never).
ENQUEUE_TIMEOUT_SECONDS = 2


class EnqueueError(Exception):
    """Redis did not take the job; its record, if it has one, says failed."""


class ArqJobs:
    """Records a job if it has a record, then puts it in arq's queue in Redis."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], redis_url: str) -> None:
        self._sessions = sessions
        # One connection attempt per call: arq's default retries for seconds, holding the request.
        self._redis_settings = dataclasses.replace(
            RedisSettings.from_dsn(redis_url), conn_retries=0
        )
        self._pool: ArqRedis | None = None
        self._connecting = asyncio.Lock()

    async def enqueue(self, kind: str, *, user_id: int) -> str:
        job_id, argument = await new_job(self._sessions, kind, user_id)
        try:
            async with asyncio.timeout(ENQUEUE_TIMEOUT_SECONDS):
                pool = await self._connection()
                # Under our id, so arq drops a second enqueue of the same job.
                await pool.enqueue_job(kind, argument, _job_id=job_id)
        except (RedisError, OSError) as error:  # OSError: refused, reset, timed out
            if kind in RECORDED:
                async with self._sessions.begin() as session:
                    await jobs.finish_job(session, job_id, result=None, error="could not be queued")
            raise EnqueueError(f"Redis did not take the {kind} job") from error
        return job_id

    async def _connection(self) -> ArqRedis:
        # Connected on first use, not at start-up: the API starts, and serves, with Redis down.
        async with self._connecting:
            if self._pool is None:
                self._pool = await create_pool(self._redis_settings)
            return self._pool

    async def drain(self) -> None:
        """Nothing to wait for: the jobs run in the arq worker processes."""

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
