"""Deleting rows past their retention (the purge job's queries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IdempotencyKey, Job, Notification, RevokedToken


async def _deleted(session: AsyncSession, statement: Delete) -> int:
    # A DELETE's result is a cursor result (with a row count); execute() is typed as any Result.
    result = cast("CursorResult[Any]", await session.execute(statement))
    return result.rowcount


async def purge(
    session: AsyncSession,
    *,
    idempotency_keys_before: datetime,
    notifications_before: datetime,
    jobs_finished_before: datetime,
    now: datetime,
) -> dict[str, int]:
    """Delete what expired before each cutoff; how many rows went, per table."""
    return {
        "idempotency_keys": await _deleted(
            session,
            delete(IdempotencyKey).where(IdempotencyKey.created_at < idempotency_keys_before),
        ),
        "notifications": await _deleted(
            session, delete(Notification).where(Notification.created_at < notifications_before)
        ),
        # Only finished jobs: a queued or running one is still being waited for.
        "jobs": await _deleted(
            session,
            delete(Job).where(
                Job.status.in_(("complete", "failed")), Job.finished_at < jobs_finished_before
            ),
        ),
        # A logged-out token past its expiry is refused for expiring anyway.
        "revoked_tokens": await _deleted(
            session, delete(RevokedToken).where(RevokedToken.expires_at < now)
        ),
    }
