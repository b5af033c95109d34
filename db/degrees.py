"""Queries on degrees."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import rows
from db.models import Degree, DegreeRecord
from rules.orderings import oldest_first

_COLUMNS = rows.columns(DegreeRecord, Degree)


async def degrees_for_users(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[DegreeRecord]]:
    degrees: dict[int, list[DegreeRecord]] = {user_id: [] for user_id in user_ids}
    query = select(*_COLUMNS).where(Degree.user_id.in_(user_ids)).order_by(oldest_first(Degree.id))
    for row in await session.execute(query):
        degrees[row.user_id].append(rows.record(DegreeRecord, row))
    return degrees


async def insert_degree(session: AsyncSession, *, user_id: int, name: str) -> DegreeRecord:
    row = (
        await session.execute(
            insert(Degree).values(user_id=user_id, name=name).returning(*_COLUMNS)
        )
    ).one()
    return rows.record(DegreeRecord, row)
