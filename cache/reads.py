"""The read paths of the API through the query cache: one place for keys, tags and scopes.

Keys are the function name and its parameters. User records are cached per visibility scope:
`admin` entries keep emails, `public` entries have none at all, so no cache entry can hand one
user's email to another (the viewer's own email comes from their session, not the cache).

Tags are the tables an entry reads (db/data_versions.py), bumped in the transaction of every
write to them:
    users       user(id), user pages            registration, changeUserName, deactivateUser,
                                                the first admin at start-up
    trades      trade(id), trade pages, each    addTrades
                user's trade pages, candles
    degrees     each user's degrees             addDegree

Per-row tags (one user's record, one user's trades) would spare entries that a write leaves
alone, but their versions could only be read once the rows a request reads are known: a round
trip more per cached read, where a table's version comes with the session check for free.

Compiled queries (fastpath/) cache whole responses under the same tags, of the tables they read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cache import codec
from cache.query_cache import Entry, QueryCache
from db import candles, degrees, trades, users
from db.candles import CandleRecord
from db.data_versions import DEGREES, TRADES, USERS, Versions
from db.models import DegreeRecord, TradeRecord, UserRecord


def _scope(see_emails: bool) -> str:
    return "admin" if see_emails else "public"


def _visible(record: UserRecord, see_emails: bool) -> UserRecord:
    return record if see_emails else dataclasses.replace(record, email=None)


class CachedReads:
    """The reads of one request, through the cache as of the data versions its session check
    read; without versions (the process-wide instance, a mutation, a socket's events) every read
    goes to the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cache: QueryCache,
        versions: Versions | None = None,
    ) -> None:
        self._sessions = sessions
        self.cache = cache
        self.versions = versions

    def as_of(self, versions: Versions | None) -> CachedReads:
        """The same reads, cached under these versions (read before any of these reads)."""
        return CachedReads(self._sessions, self.cache, versions)

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

        entries = [Entry(i, f"user:{scope}:{i}", (USERS,)) for i in ids]
        return await self.cache.get_many_or_load(entries, load, codec.USER, versions=self.versions)

    async def user_page(self, limit: int, offset: int, *, see_emails: bool) -> list[UserRecord]:
        async def load() -> list[UserRecord]:
            async with self._sessions() as session:
                page = await users.user_page(session, limit, offset)
            return [_visible(u, see_emails) for u in page]

        key = f"users:{_scope(see_emails)}:{limit}:{offset}"
        found = await self.cache.get_or_load(
            key, (USERS,), load, codec.USERS, versions=self.versions
        )
        return found or []

    async def trade(self, trade_id: int) -> TradeRecord | None:
        async def load() -> TradeRecord | None:
            async with self._sessions() as session:
                found = await trades.trades_by_ids(session, [trade_id])
            return found[0] if found else None

        return await self.cache.get_or_load(
            f"trade:{trade_id}", (TRADES,), load, codec.TRADE, versions=self.versions
        )

    async def trade_page(
        self,
        *,
        limit: int,
        offset: int,
        currency: str | None,
        side: str | None,
        user_id: int | None,
        before: int | None,
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
                    before=before,
                )

        key = f"trades:{limit}:{offset}:{currency}:{side}:{user_id}:{before}"
        found = await self.cache.get_or_load(
            key, (TRADES,), load, codec.TRADES, versions=self.versions
        )
        return found or []

    async def candles(
        self, *, currency: str, seconds: int, start: datetime, end: datetime | None
    ) -> list[CandleRecord]:
        """`start` is a bucket's: any `from` in one bucket reads (and caches) the same candles.
        Without `end` they are every trade's from `start` on, which only a write of trades
        changes, so that entry lasts like the others."""

        async def load() -> list[CandleRecord]:
            async with self._sessions() as session:
                return await candles.candles(
                    session, currency=currency, seconds=seconds, start=start, end=end
                )

        until = end.isoformat() if end is not None else "now"
        key = f"candles:{currency}:{seconds}:{start.isoformat()}:{until}"
        found = await self.cache.get_or_load(
            key, (TRADES,), load, codec.CANDLES, versions=self.versions
        )
        return found or []

    async def trade_pages_for_users(
        self, user_ids: Sequence[int], *, limit: int, offset: int, before: int | None
    ) -> dict[int, list[TradeRecord] | None]:
        async def load(missing: list[int]) -> dict[int, list[TradeRecord] | None]:
            async with self._sessions() as session:
                pages = await trades.trade_pages_for_users(
                    session, missing, limit=limit, offset=offset, before=before
                )
            return dict(pages)

        entries = [
            Entry(u, f"user-trades:{u}:{limit}:{offset}:{before}", (TRADES,)) for u in user_ids
        ]
        return await self.cache.get_many_or_load(
            entries, load, codec.TRADES, versions=self.versions
        )

    async def degrees_for_users(
        self, user_ids: Sequence[int]
    ) -> dict[int, list[DegreeRecord] | None]:
        async def load(missing: list[int]) -> dict[int, list[DegreeRecord] | None]:
            async with self._sessions() as session:
                return dict(await degrees.degrees_for_users(session, missing))

        entries = [Entry(u, f"degrees:{u}", (DEGREES,)) for u in user_ids]
        return await self.cache.get_many_or_load(
            entries, load, codec.DEGREES, versions=self.versions
        )
