"""The trade report job: per-currency totals and volume-weighted average price, exact decimals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs
from db.models import Trade
from db.types import MONEY_PLACES, utcnow

_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)


@dataclass
class _Totals:
    trades: int = 0
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of price * amount
    prices: Decimal = Decimal(0)  # sum of prices, for the zero-volume case

    def add(self, side: str, price: Decimal, amount: Decimal) -> None:
        self.trades += 1
        if side == "buy":
            self.bought += amount
        else:
            self.sold += amount
        self.notional += price * amount
        self.prices += price

    def average_price(self) -> Decimal:
        volume = self.bought + self.sold
        # With no volume at all every weight is zero: fall back to the plain mean of prices.
        average = self.notional / volume if volume else self.prices / self.trades
        return average.quantize(_QUANTUM)


def _fixed(value: Decimal) -> str:
    return f"{value.quantize(_QUANTUM):f}"


async def compute_trade_report(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """The report as JSON-ready data (decimals as fixed-point strings)."""
    totals: dict[str, _Totals] = defaultdict(_Totals)
    query = select(Trade.currency, Trade.side, Trade.price, Trade.amount).where(
        Trade.user_id == user_id
    )
    async for currency, side, price, amount in await session.stream(query):
        totals[currency].add(side, price, amount)
    return {
        "userId": user_id,
        "generatedAt": utcnow().isoformat(),
        "currencies": [
            {
                "currency": currency,
                "trades": t.trades,
                "boughtAmount": _fixed(t.bought),
                "soldAmount": _fixed(t.sold),
                "netAmount": _fixed(t.bought - t.sold),
                "averagePrice": _fixed(t.average_price()),
            }
            for currency, t in sorted(totals.items())
        ],
    }


async def build_trade_report(ctx: dict[str, Any], job_id: str) -> None:
    """Job: compute the report of the job's user and store it on the job record.

    Safe to run twice (queues deliver at least once): a finished job is left as it is.
    """
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    async with sessions.begin() as session:
        job = await jobs.start_job(session, job_id)
        if job is None:
            return
        user_id = job.user_id
    try:
        async with sessions() as session:
            report = await compute_trade_report(session, user_id)
    except Exception:
        async with sessions.begin() as session:
            await jobs.finish_job(session, job_id, result=None, error="report failed")
        raise
    async with sessions.begin() as session:
        await jobs.finish_job(session, job_id, result=report, error=None)
