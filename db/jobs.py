"""Job records: what `job(id)` reports, kept in the database so status outlives the queue."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Job
from db.types import utcnow


async def create_job(session: AsyncSession, *, kind: str, user_id: int) -> str:
    job_id = str(uuid.uuid4())
    session.add(Job(id=job_id, kind=kind, user_id=user_id, status="queued"))
    await session.flush()
    return job_id


async def get_job(session: AsyncSession, job_id: str) -> Job | None:
    return await session.get(Job, job_id)


async def start_job(session: AsyncSession, job_id: str) -> Job | None:
    """Mark a queued or retried job as running; None if it is unknown or already finished."""
    job = (
        await session.execute(select(Job).where(Job.id == job_id).with_for_update())
    ).scalar_one_or_none()
    if job is None or job.status in ("complete", "failed"):
        return None
    job.status = "in_progress"
    job.tries += 1
    job.started_at = utcnow()
    return job


async def finish_job(
    session: AsyncSession, job_id: str, *, result: dict[str, Any] | None, error: str | None
) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status="failed" if error else "complete",
            result=result,
            error=error,
            finished_at=utcnow(),
        )
    )
