"""Runs jobs inside the API process: the embedded default, when there is no Redis for arq."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from settings import Settings
from workers.purge import PURGE_INTERVAL, purge_expired
from workers.queue import FUNCTIONS, JobQueue
from workers.welcome import DatabaseSender, Sender

logger = logging.getLogger(__name__)


class InProcessJobs(JobQueue):
    """Runs each job as a task of this event loop, retried as arq would, and purges hourly."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender | None = None,
    ) -> None:
        super().__init__(sessions)
        self._ctx: dict[str, Any] = {
            "settings": settings,
            "sessions": sessions,
            "sender": sender or DatabaseSender(),
        }
        self._tasks: set[asyncio.Task[None]] = set()
        self._purging: asyncio.Task[None] | None = None

    @property
    def running(self) -> int:
        """Jobs this process is running now."""
        return len(self._tasks)

    def start_purging(self) -> None:
        """Purge expired rows every hour until closed: the arq worker's cron job, in-process."""
        self._purging = asyncio.create_task(self._purge_periodically(), name="purge_expired")

    async def dispatch(self, kind: str, job_id: str, argument: str | int) -> None:
        task = asyncio.create_task(self._run(kind, job_id, argument), name=f"job:{kind}:{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, kind: str, job_id: str, argument: object) -> None:
        """Call the job as arq does: its id and try number in ctx, again after each Retry."""
        for job_try in itertools.count(1):
            try:
                await FUNCTIONS[kind]({**self._ctx, "job_id": job_id, "job_try": job_try}, argument)
                return
            except Retry as retry:
                await asyncio.sleep((retry.defer_score or 0) / 1000)
            except Exception:
                logger.exception("job %s (%s) failed", job_id, kind)
                return

    async def _purge_periodically(self) -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL.total_seconds())
            try:
                await purge_expired(self._ctx)
            except Exception:
                # The next round tries again; the API keeps serving meanwhile.
                logger.exception("purging expired rows failed")

    async def drain(self) -> None:
        """Run the jobs committed so far and wait for them (used at shutdown and by tests)."""
        if self.outbox is not None:
            await self.outbox.deliver()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        if self._purging is not None:
            self._purging.cancel()
            await asyncio.gather(self._purging, return_exceptions=True)
        await self.drain()
