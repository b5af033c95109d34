from __future__ import annotations

from strawberry.dataloader import DataLoader

from cache.reads import CachedReads
from db.models import DegreeRecord


def degrees_by_user_loader(reads: CachedReads) -> DataLoader[int, list[DegreeRecord]]:
    async def load(user_ids: list[int]) -> list[list[DegreeRecord]]:
        found = await reads.degrees_for_users(user_ids)
        return [found.get(user_id) or [] for user_id in user_ids]

    return DataLoader(load_fn=load)
