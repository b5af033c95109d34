"""Job records: what `job(id)` reports, kept in the database so status outlives the queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import rows
from db.models import Job, JobSummary
from db.types import utcnow

# A job in one of these states has its outcome recorded for good.
FINISHED = ("complete", "failed")


async def create_job(
    session: AsyncSession, *, kind: str, user_id: int, arguments: dict[str, Any]
) -> str:
    """A queued job's record: its owner, and the arguments it is called with."""
    job_id = str(uuid.uuid4())
    session.add(Job(id=job_id, kind=kind, user_id=user_id, arguments=arguments, status="queued"))
    await session.flush()
    return job_id


async def get_job(session: AsyncSession, job_id: str) -> Job | None:
    return await session.get(Job, job_id)


async def start_job(session: AsyncSession, job_id: str, *, job_try: int) -> Job | None:
    """Mark a queued or retried job as running; None if it is unknown or already finished.

    `job_try` counts from 1; the queue knows it (arq's ctx['job_try']), so a repeated delivery of
    the same try does not count twice.
    """
    job = (
        await session.execute(select(Job).where(Job.id == job_id).with_for_update())
    ).scalar_one_or_none()
    if job is None or job.status in FINISHED:
        return None
    job.status = "in_progress"
    job.tries = job_try
    job.started_at = utcnow()
    return job


async def finish_job(
    session: AsyncSession, job_id: str, *, result: dict[str, Any] | None, error: str | None
) -> bool:
    """Record how the job ended, unless a run of it already did; True if this call recorded it.

    A job may run twice at once (a worker that only stalled has its job run again elsewhere):
    the first run to finish writes the outcome, and a later one changes nothing.
    """
    # An UPDATE's result is a cursor result (with a row count); execute() is typed as any Result.
    finished = cast(
        "CursorResult[Any]",
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(FINISHED))
            .values(
                status="failed" if error else "complete",
                result=result,
                error=error,
                finished_at=utcnow(),
            )
        ),
    )
    return finished.rowcount > 0


async def job_page(
    session: AsyncSession, *, limit: int, offset: int, status: str | None
) -> list[JobSummary]:
    """Jobs newest first, without their results (a report can be large)."""
    query = (
        select(*rows.columns(JobSummary, Job))
        # The id breaks ties between jobs enqueued in the same microsecond, so pages never overlap.
        .order_by(Job.enqueued_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(Job.status == status)
    return [rows.record(JobSummary, row) for row in await session.execute(query)]


class Unfinished(NamedTuple):
    id: str
    kind: str
    arguments: dict[str, Any]


async def unfinished(
    session: AsyncSession, *, enqueued_before: datetime, limit: int
) -> list[Unfinished]:
    """Jobs queued or running since before a time, with their calls: to hand to the queue again."""
    query = (
        select(Job.id, Job.kind, Job.arguments)
        .where(Job.status.in_(("queued", "in_progress")), Job.enqueued_at < enqueued_before)
        .order_by(Job.enqueued_at)
        .limit(limit)
    )
    return [Unfinished(**row._mapping) for row in await session.execute(query)]
