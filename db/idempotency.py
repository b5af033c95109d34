"""Idempotency records for trade batches, written in the same transaction as the trades."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IdempotencyKey


async def find(
    session: AsyncSession, user_id: int, key: str, *, not_before: datetime
) -> IdempotencyKey | None:
    """The live record for the key. One older than `not_before` has expired: it is deleted in
    this transaction, so the key starts afresh even before the hourly purge runs."""
    query = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None and found.created_at < not_before:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == found.id))
        return None
    return found


async def record(
    session: AsyncSession, *, user_id: int, key: str, request_hash: str, trade_ids: list[int]
) -> None:
    """Raises IntegrityError when a concurrent request recorded the same key first."""
    await session.execute(
        insert(IdempotencyKey).values(
            user_id=user_id, key=key, request_hash=request_hash, trade_ids=trade_ids
        )
    )
