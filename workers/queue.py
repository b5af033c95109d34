"""One interface for enqueueing jobs, whether the API process runs them or arq workers do."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs
from observability.metrics import JOBS_QUEUED
from workers.reports import build_trade_report
from workers.welcome import send_welcome

JobFunction = Callable[..., Awaitable[None]]

# Every job the API enqueues, under the name arq knows it by.
FUNCTIONS: dict[str, JobFunction] = {
    "build_trade_report": build_trade_report,
    "send_welcome": send_welcome,
}
# Jobs users poll with `job(id)`: each gets a record in the jobs table, and takes its id. The
# others take the user's id; their outcome is their own rows (a welcome's `sent_at`).
RECORDED = frozenset({"build_trade_report"})


class JobQueue(Protocol):
    async def enqueue(self, kind: str, *, user_id: int) -> str:
        """Start job `kind` for this user in the background; returns the job's id."""

    async def drain(self) -> None:
        """Wait for the jobs this process runs itself (used at shutdown and by tests)."""

    async def close(self) -> None:
        """At shutdown: finish what this process runs, release connections."""


async def new_job(
    sessions: async_sessionmaker[AsyncSession], kind: str, user_id: int
) -> tuple[str, str | int]:
    """The id of a new job of `kind`, and the argument its function takes."""
    if kind not in FUNCTIONS:
        raise ValueError(f"unknown job {kind!r}")
    JOBS_QUEUED.labels(kind).inc()
    if kind not in RECORDED:
        return uuid.uuid4().hex, user_id
    async with sessions.begin() as session:
        job_id = await jobs.create_job(session, kind=kind, user_id=user_id)
    return job_id, job_id
