from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.records import UserRecord
from db.users import users_by_ids


def user_by_id_loader(
    sessions: async_sessionmaker[AsyncSession],
) -> DataLoader[int, UserRecord | None]:
    async def load(ids: list[int]) -> list[UserRecord | None]:
        async with sessions() as session:
            found = {user.id: user for user in await users_by_ids(session, ids)}
        return [found.get(user_id) for user_id in ids]

    return DataLoader(load_fn=load)
