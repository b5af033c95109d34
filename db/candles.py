"""Candles: one currency's trades in buckets of a whole number of seconds (rules/candles.py),
open/high/low/close/volume of each, computed by the database in one statement on both.

Open and close are the prices of the bucket's first and last trade by (created_at, id): window
functions over the bucket, one sort for both. High, low and volume are exact on SQLite too
(db/types.py: MoneyMax, MoneyMin, MoneySum).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Trade
from db.rows import field_names
from db.types import Money, MoneyMax, MoneyMin, MoneySum
from rules.candles import bucket_epoch_sql, from_epoch


@dataclass(frozen=True, slots=True)
class CandleRecord:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int


# The fields after `start`, each a labelled column of the statement below.
_MEASURES = field_names(CandleRecord)[1:]


async def candles(
    session: AsyncSession,
    *,
    currency: str,
    seconds: int,
    start: datetime,
    end: datetime | None,
) -> list[CandleRecord]:
    """The non-empty buckets of trades created in [start, end), oldest first; without `end`,
    every trade from `start` on."""
    bucket = bucket_epoch_sql(Trade.created_at, seconds)
    whole_bucket = {
        "partition_by": bucket,
        "order_by": (Trade.created_at, Trade.id),
        "rows": (None, None),
    }
    wanted = [Trade.currency == currency, Trade.created_at >= start]
    if end is not None:
        wanted.append(Trade.created_at < end)
    trades = (
        select(
            bucket.label("bucket"),
            Trade.price,
            Trade.amount,
            func.first_value(Trade.price, type_=Money()).over(**whole_bucket).label("first"),
            func.last_value(Trade.price, type_=Money()).over(**whole_bucket).label("last"),
        )
        .where(*wanted)
        .subquery()
    )
    query = (
        select(
            trades.c.bucket,
            # Every row of a bucket holds its first and last price: any of them will do.
            MoneyMin(trades.c.first).label("open"),
            MoneyMax(trades.c.price).label("high"),
            MoneyMin(trades.c.price).label("low"),
            MoneyMin(trades.c.last).label("close"),
            MoneySum(trades.c.amount).label("volume"),
            func.count().label("trades"),
        )
        .group_by(trades.c.bucket)
        .order_by(trades.c.bucket)
    )
    found = await session.execute(query)
    return [
        CandleRecord(
            start=from_epoch(row.bucket), **{name: row._mapping[name] for name in _MEASURES}
        )
        for row in found
    ]
