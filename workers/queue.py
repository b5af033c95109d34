"""Enqueueing jobs, whether the API process runs them or arq workers do.

A job is written to the outbox in the same transaction as its record, and handed to its runner
by the relay (events/relay.py) after the commit: `requestTradeReport` answers with a job that
runs once Redis takes it, never with a job nobody will run.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs, outbox
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


class Outbox(Protocol):
    def wake(self) -> None:
        """Deliver what was just committed."""

    async def deliver(self) -> None:
        """Deliver everything pending, now."""


class JobQueue:
    """Writes jobs to the outbox; subclasses run what the relay hands them (`dispatch`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.outbox: Outbox | None = None  # the relay, once it is built

    async def enqueue(self, kind: str, *, user_id: int) -> str:
        """Start job `kind` for this user in the background; returns the job's id."""
        async with self._sessions.begin() as session:
            job_id = await add_job(session, kind, user_id)
        if self.outbox is not None:
            self.outbox.wake()
        return job_id

    async def dispatch(self, kind: str, job_id: str, argument: str | int) -> None:
        """Hand a committed job to whatever runs it; raises if it could not be handed over."""
        raise NotImplementedError

    async def recover(self) -> None:
        """Hand on again jobs a queue may have lost (arq: Redis restarted without its data)."""

    async def drain(self) -> None:
        """Wait for the jobs this process runs itself (used at shutdown and by tests)."""

    async def close(self) -> None:
        """At shutdown: finish what this process runs, release connections."""


async def add_job(session: AsyncSession, kind: str, user_id: int) -> str:
    """In the caller's transaction: the job's record (if it has one) and its outbox message."""
    if kind not in FUNCTIONS:
        raise ValueError(f"unknown job {kind!r}")
    if kind in RECORDED:
        job_id = await jobs.create_job(session, kind=kind, user_id=user_id)
        argument: str | int = job_id
    else:
        job_id, argument = uuid.uuid4().hex, user_id
    await outbox.add(session, outbox.JOB, {"kind": kind, "job_id": job_id, "argument": argument})
    JOBS_QUEUED.labels(kind).inc()
    return job_id
