"""The outbox: what a commit must tell the job queue or other processes, written in the same
transaction and delivered after it (events/relay.py), so an outage delays it and loses nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage

JOB = "job"
SESSIONS_ENDED = "sessions_ended"


async def add(session: AsyncSession, topic: str, payload: dict[str, Any]) -> None:
    """Part of the caller's transaction: delivered only if it commits."""
    session.add(OutboxMessage(topic=topic, payload=payload))
    await session.flush()


async def oldest(session: AsyncSession, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
    """The oldest undelivered messages, locked for this transaction; another relay passes them
    over (PostgreSQL's SKIP LOCKED) rather than waiting or delivering them twice."""
    query = (
        select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(row.id, row.topic, row.payload) for row in await session.execute(query)]


async def remove(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
