"""The live feed's order, kept in the database: each committed trade gets the next `seq`.

A trade is written with `seq` NULL (its outbox entry, in the same transaction as the trade) and
given its place by the feed's relay soon after commit. Positions are consecutive integers, so a
process that receives trade 105 after 103 knows that 104 exists and reads it from here; and a
client that saw 103 resumes after it, whatever Redis or any process did meanwhile.
"""

from __future__ import annotations

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import trades, users
from db.models import Trade, TradeRecord, User, UserRecord

# Any constant both sides agree on: the relays of every process share this lock.
SEQUENCER_LOCK = 0x7EED5E9
# The trader's columns are labelled with this, apart from the trade's of the same names.
TRADER = "trader_"


async def take_sequencer(session: AsyncSession) -> None:
    """Wait until this transaction is the only one giving out positions (PostgreSQL: an advisory
    lock held until commit). SQLite needs none: its write lock already serializes them."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK})


async def sequence_pending(session: AsyncSession, limit: int) -> list[TradeRecord]:
    """Give the oldest unsequenced trades (at most `limit`) the next positions, in id order;
    returns them in feed order. Call under `take_sequencer`, then commit."""
    # One statement: on SQLite a read before the write could not take the write lock once
    # another write committed; the last position is read once, before any row changes.
    last = select(func.coalesce(func.max(Trade.seq), 0)).scalar_subquery()
    pending = (
        select(Trade.id, func.row_number().over(order_by=Trade.id).label("place"))
        .where(Trade.seq.is_(None))
        .order_by(Trade.id)
        .limit(limit)
        .subquery()
    )
    placed = await session.execute(
        update(Trade)
        .where(Trade.id == pending.c.id)
        .values(seq=last + pending.c.place)
        .returning(*trades.COLUMNS)
    )
    return sorted((trades.record(row) for row in placed), key=lambda t: t.seq or 0)


async def newest(session: AsyncSession) -> int:
    """The last position given out (0 before the first trade)."""
    found = (await session.execute(select(func.coalesce(func.max(Trade.seq), 0)))).scalar_one()
    return found or 0


async def events_after(
    session: AsyncSession,
    after: int,
    *,
    limit: int,
    before: int | None = None,
    currency: str | None = None,
) -> list[tuple[TradeRecord, UserRecord]]:
    """The trades after position `after` (and before `before`), in feed order, with traders."""
    query = (
        users.user_columns_select(prefix=TRADER)
        .add_columns(*trades.COLUMNS)
        .join(Trade, Trade.user_id == User.id)
        .where(Trade.seq > after)
        .order_by(Trade.seq)
        .limit(limit)
    )
    if before is not None:
        query = query.where(Trade.seq < before)
    if currency is not None:
        query = query.where(Trade.currency == currency)
    return [
        (trades.record(row), users.record(row, prefix=TRADER))
        for row in await session.execute(query)
    ]
