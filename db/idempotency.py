"""Idempotency records for trade batches, written in the same transaction as the trades."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IdempotencyKey


async def find(session: AsyncSession, user_id: int, key: str) -> IdempotencyKey | None:
    query = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def record(
    session: AsyncSession, *, user_id: int, key: str, request_hash: str, trade_ids: list[int]
) -> None:
    """Raises IntegrityError when a concurrent request recorded the same key first."""
    await session.execute(
        insert(IdempotencyKey).values(
            user_id=user_id, key=key, request_hash=request_hash, trade_ids=trade_ids
        )
    )
