"""The trade report job: per-currency totals and volume-weighted average price, exact decimals."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import jobs
from db.trade_totals import SideTotals, trade_totals
from db.types import MONEY_PLACES, utcnow
from settings import Settings
from workers.retries import describe, retry_for

_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
MAX_TRIES = 3
# The record of a report that arq gave up on without running it (workers/worker.py).
NO_TRY_LEFT = "report failed: no try was left to run it"


@dataclass
class _Totals:
    trades: int = 0
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of price * amount
    prices: Decimal = Decimal(0)  # sum of prices, for the zero-volume case

    def add(self, side: str, totals: SideTotals) -> None:
        self.trades += totals.trades
        if side == "buy":
            self.bought += totals.amount
        else:
            self.sold += totals.amount
        self.notional += totals.notional
        self.prices += totals.prices

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
    for (currency, side), side_totals in (await trade_totals(session, user_id)).items():
        totals[currency].add(side, side_totals)
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


# Keyword-only: earlier releases passed the job's id by position. Such a call, left in Redis by
# an upgrade, fails at once instead of reading the id as a user's; recovery hands the job on
# again, with the arguments its record keeps, once arq forgets the failure (`keep_result`).
async def build_trade_report(ctx: dict[str, Any], *, user_id: int) -> None:
    """Job: compute the user's report and store it on the job's record (ctx['job_id']).

    Safe to run twice (queues deliver at least once): a finished job is left as it is. Transient
    failures are retried with backoff; the record says failed only when no try is left, since
    arq runs nothing after its last try.
    """
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    settings: Settings = ctx["settings"]
    job_id: str = ctx["job_id"]
    try:
        async with sessions.begin() as session:
            if await jobs.start_job(session, job_id, job_try=ctx.get("job_try", 1)) is None:
                return
        async with asyncio.timeout(settings.job_timeout_seconds), sessions() as session:
            report = await compute_trade_report(session, user_id)
        async with sessions.begin() as session:
            await jobs.finish_job(session, job_id, result=report, error=None)
    except Exception as error:
        if (retry := retry_for(ctx, error, max_tries=MAX_TRIES)) is not None:
            raise retry from error
        async with sessions.begin() as session:
            await jobs.finish_job(
                session, job_id, result=None, error=f"report failed: {describe(error)}"
            )
        raise
