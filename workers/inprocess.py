"""Runs jobs inside the API process: the embedded default, when there is no Redis for arq."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs
from workers.reports import build_trade_report

logger = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[None]]
FUNCTIONS: dict[str, JobFunction] = {"build_trade_report": build_trade_report}


class InProcessJobs:
    """Records a job, then runs its function as a task of this event loop."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._ctx: dict[str, Any] = {"sessions": sessions}
        self._sessions = sessions
        self._tasks: set[asyncio.Task[None]] = set()

    async def enqueue(self, kind: str, *, user_id: int) -> str:
        function = FUNCTIONS[kind]
        async with self._sessions.begin() as session:
            job_id = await jobs.create_job(session, kind=kind, user_id=user_id)
        task = asyncio.create_task(self._run(function, job_id), name=f"job:{kind}:{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id

    async def _run(self, function: JobFunction, job_id: str) -> None:
        try:
            await function(self._ctx, job_id)
        except Exception:
            logger.exception("job %s failed", job_id)

    async def drain(self) -> None:
        """Wait for the jobs already started (used at shutdown and by tests)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
