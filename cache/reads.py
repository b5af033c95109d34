"""The read paths of the API through the query cache: one place for keys, tags and scopes.

Keys are the function name and its parameters. User records are cached per visibility scope:
`admin` entries keep emails, `public` entries have none at all, so no cache entry can hand one
user's email to another (the viewer's own email comes from their session, not the cache).

Tags, bumped after the commit of the write that changes them:
    user:<id>           that user's record          changeUserName
    users               every page of users         changeUserName, registration
    trades              trade(id) and trade pages   addTrades
    trades:user:<id>    that user's trade pages     addTrades
    degrees:user:<id>   that user's degrees         addDegree
    degrees             every degree                addDegree

Compiled queries (fastpath/) cache whole responses under the tags `users`, `trades` and
`degrees` of the tables they read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cache import codec
from cache.query_cache import Entry, QueryCache
from db import degrees, trades, users
from db.records import DegreeRecord, TradeRecord, UserRecord


def _scope(see_emails: bool) -> str:
    return "admin" if see_emails else "public"


def _visible(record: UserRecord, see_emails: bool) -> UserRecord:
    return record if see_emails else dataclasses.replace(record, email=None)


class CachedReads:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: QueryCache) -> None:
        self._sessions = sessions
        self.cache = cache

    async def users_by_ids(
        self, ids: Sequence[int], *, see_emails: bool
    ) -> dict[int, UserRecord | None]:
        scope = _scope(see_emails)

        async def load(missing: list[int]) -> dict[int, UserRecord | None]:
            async with self._sessions() as session:
                found = {
                    u.id: _visible(u, see_emails)
                    for u in await users.users_by_ids(session, missing)
                }
            return {user_id: found.get(user_id) for user_id in missing}

        entries = [Entry(i, f"user:{scope}:{i}", (f"user:{i}",)) for i in ids]
        return await self.cache.get_many_or_load(entries, load, codec.USER)

    async def user_page(self, limit: int, offset: int, *, see_emails: bool) -> list[UserRecord]:
        async def load() -> list[UserRecord]:
            async with self._sessions() as session:
                page = await users.user_page(session, limit, offset)
            return [_visible(u, see_emails) for u in page]

        key = f"users:{_scope(see_emails)}:{limit}:{offset}"
        return await self.cache.get_or_load(key, ("users",), load, codec.USERS) or []

    async def trade(self, trade_id: int) -> TradeRecord | None:
        async def load() -> TradeRecord | None:
            async with self._sessions() as session:
                found = await trades.trades_by_ids(session, [trade_id])
            return found[0] if found else None

        return await self.cache.get_or_load(f"trade:{trade_id}", ("trades",), load, codec.TRADE)

    async def trade_page(
        self,
        *,
        limit: int,
        offset: int,
        currency: str | None,
        side: str | None,
        user_id: int | None,
    ) -> list[TradeRecord]:
        async def load() -> list[TradeRecord]:
            async with self._sessions() as session:
                return await trades.trade_page(
                    session,
                    limit=limit,
                    offset=offset,
                    currency=currency,
                    side=side,
                    user_id=user_id,
                )

        key = f"trades:{limit}:{offset}:{currency}:{side}:{user_id}"
        return await self.cache.get_or_load(key, ("trades",), load, codec.TRADES) or []

    async def trade_pages_for_users(
        self, user_ids: Sequence[int], *, limit: int, offset: int
    ) -> dict[int, list[TradeRecord] | None]:
        async def load(missing: list[int]) -> dict[int, list[TradeRecord] | None]:
            async with self._sessions() as session:
                pages = await trades.trade_pages_for_users(
                    session, missing, limit=limit, offset=offset
                )
            return dict(pages)

        entries = [
            Entry(u, f"user-trades:{u}:{limit}:{offset}", (f"trades:user:{u}",)) for u in user_ids
        ]
        return await self.cache.get_many_or_load(entries, load, codec.TRADES)

    async def degrees_for_users(
        self, user_ids: Sequence[int]
    ) -> dict[int, list[DegreeRecord] | None]:
        async def load(missing: list[int]) -> dict[int, list[DegreeRecord] | None]:
            async with self._sessions() as session:
                return dict(await degrees.degrees_for_users(session, missing))

        entries = [Entry(u, f"degrees:{u}", (f"degrees:user:{u}",)) for u in user_ids]
        return await self.cache.get_many_or_load(entries, load, codec.DEGREES)

    # Invalidation: call after the transaction that made the change has committed.

    async def trades_added(self, user_ids: Iterable[int]) -> None:
        await self.cache.invalidate(["trades", *(f"trades:user:{u}" for u in set(user_ids))])

    async def user_changed(self, user_id: int) -> None:
        await self.cache.invalidate([f"user:{user_id}", "users"])

    async def user_added(self) -> None:
        await self.cache.invalidate(["users"])

    async def degree_added(self, user_id: int) -> None:
        await self.cache.invalidate([f"degrees:user:{user_id}", "degrees"])
