from __future__ import annotations

from strawberry.dataloader import DataLoader

from cache.reads import CachedReads
from db.models import UserRecord


def user_by_id_loader(
    reads: CachedReads, *, see_emails: bool
) -> DataLoader[int, UserRecord | None]:
    async def load(ids: list[int]) -> list[UserRecord | None]:
        found = await reads.users_by_ids(ids, see_emails=see_emails)
        return [found.get(user_id) for user_id in ids]

    return DataLoader(load_fn=load)
