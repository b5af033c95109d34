from __future__ import annotations

from collections import defaultdict

from strawberry.dataloader import DataLoader

from cache.reads import CachedReads
from db.models import TradeRecord

# (user id, limit, offset, before)
TradePageKey = tuple[int, int, int, int | None]


def trade_page_loader(reads: CachedReads) -> DataLoader[TradePageKey, list[TradeRecord]]:
    """A page of each user's trades; keys sharing limit, offset and before load in one
    statement."""

    async def load(keys: list[TradePageKey]) -> list[list[TradeRecord]]:
        users_by_page: dict[tuple[int, int, int | None], list[int]] = defaultdict(list)
        for user_id, limit, offset, before in keys:
            users_by_page[limit, offset, before].append(user_id)
        pages: dict[TradePageKey, list[TradeRecord]] = {}
        for (limit, offset, before), user_ids in users_by_page.items():
            found = await reads.trade_pages_for_users(
                user_ids, limit=limit, offset=offset, before=before
            )
            for user_id in user_ids:
                pages[user_id, limit, offset, before] = found.get(user_id) or []
        return [pages[key] for key in keys]

    return DataLoader(load_fn=load)
