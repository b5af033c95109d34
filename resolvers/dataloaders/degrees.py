from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.degrees import degrees_for_users
from db.records import DegreeRecord


def degrees_by_user_loader(
    sessions: async_sessionmaker[AsyncSession],
) -> DataLoader[int, list[DegreeRecord]]:
    async def load(user_ids: list[int]) -> list[list[DegreeRecord]]:
        async with sessions() as session:
            degrees = await degrees_for_users(session, user_ids)
        return [degrees[user_id] for user_id in user_ids]

    return DataLoader(load_fn=load)
