"""Runs jobs inside the API process: the embedded default, when there is no Redis for arq.

It runs what the arq worker runs, from the same registry (workers/registry.py): each job with
arq's limits (tries, time limit), and the cron jobs at the times arq would run them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime
from typing import Any

from arq import Retry
from arq.cron import CronJob
from arq.worker import Function
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from settings import Settings
from workers import registry
from workers.queue import JobQueue
from workers.welcome import DatabaseSender, Sender

logger = logging.getLogger(__name__)


class InProcessJobs(JobQueue):
    """Runs each job as a task of this event loop, retried as arq would, and the cron jobs."""

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
        self._functions = {function.name: function for function in registry.functions(settings)}
        self._tasks: set[asyncio.Task[None]] = set()
        self._crons: list[asyncio.Task[None]] = []

    @property
    def running(self) -> int:
        """Jobs this process is running now."""
        return len(self._tasks)

    def start_crons(self) -> None:
        """Run the registry's cron jobs until closed, as the arq worker would (on the hour)."""
        self._crons = [
            asyncio.create_task(self._run_cron(cron_job), name=cron_job.name)
            for cron_job in registry.cron_jobs()
        ]

    async def dispatch(self, kind: str, job_id: str, arguments: dict[str, Any]) -> None:
        if (function := self._functions.get(kind)) is None:
            # Dropped, as arq's worker drops a job it has no function for: raising would have the
            # relay try it again for ever, holding up the messages behind it.
            logger.error("job %s: no job %r in the registry, dropped", job_id, kind)
            return
        task = asyncio.create_task(
            self._run(function, job_id, arguments), name=f"job:{kind}:{job_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, function: Function, job_id: str, arguments: dict[str, Any]) -> None:
        """Call the job as arq does: its id and try number in ctx, within its time limit, again
        after each Retry while it has tries left."""
        for job_try in itertools.count(1):
            ctx = {**self._ctx, "job_id": job_id, "job_try": job_try}
            try:
                async with asyncio.timeout(function.timeout_s):
                    await function.coroutine(ctx, **arguments)
                return
            except Retry as retry:
                if function.max_tries is not None and job_try >= function.max_tries:
                    logger.error("job %s (%s): no try left", job_id, function.name)
                    return
                await asyncio.sleep((retry.defer_score or 0) / 1000)
            except Exception:
                logger.exception("job %s (%s) failed", job_id, function.name)
                return

    async def _run_cron(self, cron_job: CronJob) -> None:
        # The object is this runner's own (registry.cron_jobs() makes new ones): arq's
        # calculate_next keeps the next run on it. Times are local, as arq's worker takes them.
        while True:
            cron_job.calculate_next(datetime.now().astimezone())
            if cron_job.next_run is None:
                return
            await asyncio.sleep((cron_job.next_run - datetime.now().astimezone()).total_seconds())
            try:
                async with asyncio.timeout(cron_job.timeout_s):
                    await cron_job.coroutine({**self._ctx, "job_try": 1})
            except Exception:
                # The next run tries again; the API keeps serving meanwhile.
                logger.exception("cron job %s failed", cron_job.name)

    async def drain(self) -> None:
        """Run the jobs committed so far and wait for them (used at shutdown and by tests)."""
        if self.outbox is not None:
            await self.outbox.deliver()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for cron_task in self._crons:
            cron_task.cancel()
        await asyncio.gather(*self._crons, return_exceptions=True)
        await self.drain()
