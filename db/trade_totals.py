"""The trade report's query: a user's trades counted and summed exactly, per currency and side.

PostgreSQL adds them up itself (NUMERIC is exact): a handful of rows come back, whatever the
number of trades. SQLite has no exact decimal arithmetic (its SUM of money would be a float, and
its products overflow 64-bit integers), so there the trades are streamed as their stored text, in
partitions, and added up with Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Numeric, String, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Trade

# Rows fetched at a time on SQLite: few round trips to its thread, bounded memory.
PARTITION_ROWS = 5_000


@dataclass
class SideTotals:
    """One currency and side of a user's trades."""

    trades: int = 0
    amount: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of price * amount, unrounded
    prices: Decimal = Decimal(0)


async def trade_totals(session: AsyncSession, user_id: int) -> dict[tuple[str, str], SideTotals]:
    """(currency, side) -> the totals of the user's trades."""
    if session.get_bind().dialect.name == "sqlite":
        return await _added_in_python(session, user_id)
    return await _added_in_sql(session, user_id)


async def _added_in_sql(session: AsyncSession, user_id: int) -> dict[tuple[str, str], SideTotals]:
    # Plain NUMERIC: the Money type would round the products' sum to 8 places.
    exact = Numeric(asdecimal=True)
    query = (
        select(
            Trade.currency,
            Trade.side,
            func.count(),
            type_coerce(func.sum(Trade.amount), exact),
            type_coerce(func.sum(Trade.price * Trade.amount), exact),
            type_coerce(func.sum(Trade.price), exact),
        )
        .where(Trade.user_id == user_id)
        .group_by(Trade.currency, Trade.side)
    )
    return {
        (currency, side): SideTotals(trades, amount, notional, prices)
        for currency, side, trades, amount, notional, prices in await session.execute(query)
    }


async def _added_in_python(
    session: AsyncSession, user_id: int
) -> dict[tuple[str, str], SideTotals]:
    # The stored text as it is: Decimal reads it exactly, without the Money type's rounding.
    query = select(
        Trade.currency,
        Trade.side,
        type_coerce(Trade.price, String),
        type_coerce(Trade.amount, String),
    ).where(Trade.user_id == user_id)
    totals: defaultdict[tuple[str, str], SideTotals] = defaultdict(SideTotals)
    result = await session.stream(query)
    async for rows in result.partitions(PARTITION_ROWS):
        for currency, side, price_text, amount_text in rows:
            price, amount = Decimal(price_text), Decimal(amount_text)
            side_totals = totals[currency, side]
            side_totals.trades += 1
            side_totals.amount += amount
            side_totals.notional += price * amount
            side_totals.prices += price
    return dict(totals)
