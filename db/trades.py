"""Queries on trades. Newest first means highest id first (rules/orderings.py), so a page `before`
an id (keyset paging) holds the trades with a smaller id, whatever was added since."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import rows
from db.models import Trade, TradeRecord
from rules.orderings import trades_after_in_order, trades_newest_first

# The columns a TradeRecord names, in the statements below and in db/feed.py's.
COLUMNS = rows.columns(TradeRecord, Trade)


def record(row: Row[Any]) -> TradeRecord:
    return rows.record(TradeRecord, row)


async def trades_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[TradeRecord]:
    found = await session.execute(select(*COLUMNS).where(Trade.id.in_(ids)))
    return [record(row) for row in found]


async def trade_page(
    session: AsyncSession,
    *,
    limit: int,
    offset: int,
    currency: str | None = None,
    side: str | None = None,
    user_id: int | None = None,
    before: int | None = None,
) -> list[TradeRecord]:
    query = select(*COLUMNS)
    if before is not None:
        query = query.where(trades_after_in_order(Trade.id, before))
    if currency is not None:
        query = query.where(Trade.currency == currency)
    if side is not None:
        query = query.where(Trade.side == side)
    if user_id is not None:
        query = query.where(Trade.user_id == user_id)
    found = await session.execute(
        query.order_by(trades_newest_first(Trade.id)).limit(limit).offset(offset)
    )
    return [record(row) for row in found]


async def trade_pages_for_users(
    session: AsyncSession,
    user_ids: Sequence[int],
    *,
    limit: int,
    offset: int,
    before: int | None = None,
) -> dict[int, list[TradeRecord]]:
    """One page of trades per user, in one statement (a window function over the users)."""
    rank = (
        func.row_number()
        .over(partition_by=Trade.user_id, order_by=trades_newest_first(Trade.id))
        .label("rank")
    )
    ranked_rows = select(*COLUMNS, rank).where(Trade.user_id.in_(user_ids))
    if before is not None:
        # Filtered before ranking: the window numbers only the rows the page may hold.
        ranked_rows = ranked_rows.where(trades_after_in_order(Trade.id, before))
    ranked = ranked_rows.subquery()
    query = (
        select(ranked)
        .where(ranked.c.rank > offset, ranked.c.rank <= offset + limit)
        .order_by(ranked.c.user_id, ranked.c.rank)
    )
    pages: dict[int, list[TradeRecord]] = {user_id: [] for user_id in user_ids}
    for row in await session.execute(query):
        pages[row.user_id].append(record(row))
    return pages


async def insert_trades(session: AsyncSession, values: list[dict[str, Any]]) -> list[TradeRecord]:
    """Insert a batch and return it in input order (one statement with RETURNING)."""
    if not values:
        return []
    found = await session.execute(
        insert(Trade).returning(*COLUMNS, sort_by_parameter_order=True), values
    )
    return [record(row) for row in found]
