"""Enqueueing jobs, whether the API process runs them or arq workers do.

A job is written to the outbox in the same transaction as its record, and handed to its runner
by the relay (events/relay.py) after the commit: `requestTradeReport` answers with a job that
runs once Redis takes it, never with a job nobody will run.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs, outbox
from observability.metrics import JOBS_QUEUED
from workers.registry import JOBS


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

    async def enqueue(self, kind: str, /, **arguments: Any) -> str:
        """Start job `kind` in the background, called with these arguments; returns its id."""
        async with self._sessions.begin() as session:
            job_id = await add_job(session, kind, **arguments)
        if self.outbox is not None:
            self.outbox.wake()
        return job_id

    async def dispatch(self, kind: str, job_id: str, arguments: dict[str, Any]) -> None:
        """Hand a committed job to whatever runs it; raises if it could not be handed over."""
        raise NotImplementedError

    async def recover(self) -> None:
        """Hand on again jobs a queue may have lost (arq: Redis restarted without its data)."""

    async def drain(self) -> None:
        """Wait for the jobs this process runs itself (used at shutdown and by tests)."""

    async def close(self) -> None:
        """At shutdown: finish what this process runs, release connections."""


async def add_job(session: AsyncSession, kind: str, /, **arguments: Any) -> str:
    """In the caller's transaction: the job's record (if it has one) and its outbox message.

    The arguments are JSON values: they are stored, in the outbox and in the job's record.
    """
    if (registered := JOBS.get(kind)) is None:
        raise ValueError(f"unknown job {kind!r}")
    if registered.recorded:
        # The record stores the whole call, so that recovery can hand it on again (a Redis that
        # restarted without its data); its user is the one who may read it with `job(id)`.
        if not isinstance(owner := arguments.get("user_id"), int):
            raise ValueError(f"job {kind!r} has a record, which needs the user_id it belongs to")
        job_id = await jobs.create_job(session, kind=kind, user_id=owner, arguments=arguments)
    else:
        job_id = uuid.uuid4().hex
    message = {"kind": kind, "job_id": job_id, "arguments": arguments}
    await outbox.add(session, outbox.JOB, message)
    JOBS_QUEUED.labels(kind).inc()
    return job_id
