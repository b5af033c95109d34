from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.records import TradeRecord
from db.trades import trade_pages_for_users

# (user id, limit, offset)
TradePageKey = tuple[int, int, int]


def trade_page_loader(
    sessions: async_sessionmaker[AsyncSession],
) -> DataLoader[TradePageKey, list[TradeRecord]]:
    """A page of each user's trades; keys sharing limit and offset load in one statement."""

    async def load(keys: list[TradePageKey]) -> list[list[TradeRecord]]:
        users_by_page: dict[tuple[int, int], list[int]] = defaultdict(list)
        for key in keys:
            user_id, limit, offset = key
            users_by_page[limit, offset].append(user_id)
        pages: dict[TradePageKey, list[TradeRecord]] = {}
        async with sessions() as session:
            for (limit, offset), user_ids in users_by_page.items():
                found = await trade_pages_for_users(session, user_ids, limit=limit, offset=offset)
                for user_id, trades in found.items():
                    pages[user_id, limit, offset] = trades
        return [pages[key] for key in keys]

    return DataLoader(load_fn=load)
