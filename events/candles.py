"""Live candles: after each batch of a currency's trades, the buckets they fell in, as the
database holds them then.

A subscriber takes the feed's events (events/feed.py: in order, gaps filled) a batch at a time
(Subscriber.batches), so it rides the feed like `tradeAdded`. Every subscriber waiting on the same
currency takes a delivery as the same batch; the buckets of a batch and interval are read once,
by the first of them, and the others share the result (Fanout.shared_result, held while the
batch's events are being fanned out, counted in `liveStats`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import candles
from db.candles import CandleRecord
from events.broadcast import Broadcaster
from events.fanout import Subscriber, TradeEvent
from rules.candles import bucket_epoch, from_epoch


async def candle_updates(
    subscriber: Subscriber,
    broadcaster: Broadcaster,
    sessions: async_sessionmaker[AsyncSession],
    currency: str,
    seconds: int,
) -> AsyncGenerator[CandleRecord, None]:
    """The buckets each batch changed, oldest first (a batch seldom spans two)."""
    async for batch in subscriber.batches():
        touched = {bucket_epoch(event.trade.created_at, seconds) for event in batch}
        first, last = min(touched), max(touched)
        read = broadcaster.shared_result(
            _event_of(batch),
            ("candles", currency, seconds, first, last),
            partial(_buckets, sessions, currency, seconds, first, last),
        )
        for candle in await read:
            if int(candle.start.timestamp()) in touched:
                yield candle


def _event_of(batch: list[TradeEvent]) -> int:
    """The fan-out knows a batch by its last trade: held until every subscriber is past it."""
    return batch[-1].trade.id


async def _buckets(
    sessions: async_sessionmaker[AsyncSession], currency: str, seconds: int, first: int, last: int
) -> list[CandleRecord]:
    async with sessions() as session:
        return await candles.candles(
            session,
            currency=currency,
            seconds=seconds,
            start=from_epoch(first),
            end=from_epoch(last + seconds),
        )
