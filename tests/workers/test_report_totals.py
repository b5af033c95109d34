"""The report's totals, added up by PostgreSQL or streamed and added in Python on SQLite: the
same exact figures on both."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import insert

from db.models import Trade
from services import Services
from tests.utils.graphql import insert_users
from workers.reports import compute_trade_report


async def add(services: Services, user_id: int, *trades: tuple[str, str, str, str]) -> None:
    rows = [
        {"user_id": user_id, "currency": c, "side": s, "price": Decimal(p), "amount": Decimal(a)}
        for c, s, p, a in trades
    ]
    async with services.sessions.begin() as session:
        await session.execute(insert(Trade), rows)


async def report(services: Services, user_id: int) -> list[dict[str, object]]:
    async with services.sessions() as session:
        currencies: list[dict[str, object]] = (await compute_trade_report(session, user_id))[
            "currencies"
        ]
    return currencies


async def test_totals_per_currency_and_side(services: Services) -> None:
    alice, bob = await insert_users(services, 2)
    await add(
        services,
        alice,
        ("ETH", "buy", "3000", "2"),
        ("BTC", "buy", "100", "0.1"),
        ("BTC", "sell", "200", "0.2"),
        ("BTC", "buy", "300", "0.3"),
    )
    await add(services, bob, ("BTC", "buy", "1", "1000"))
    assert await report(services, alice) == [
        {
            "currency": "BTC",
            "trades": 3,
            "boughtAmount": "0.40000000",
            "soldAmount": "0.20000000",
            "netAmount": "0.20000000",
            # (10 + 40 + 90) / 0.6
            "averagePrice": "233.33333333",
        },
        {
            "currency": "ETH",
            "trades": 1,
            "boughtAmount": "2.00000000",
            "soldAmount": "0.00000000",
            "netAmount": "2.00000000",
            "averagePrice": "3000.00000000",
        },
    ]
    assert await report(services, bob + 1) == []


async def test_the_average_uses_the_unrounded_notional(services: Services) -> None:
    """1.00000001 x 0.5 = 0.500000005: rounded to 8 places first, the average would be 1."""
    [carol] = await insert_users(services, 1)
    await add(services, carol, ("BTC", "buy", "1.00000001", "0.5"))
    [btc] = await report(services, carol)
    assert btc["averagePrice"] == "1.00000001"


async def test_no_volume_averages_the_prices(services: Services) -> None:
    [dave] = await insert_users(services, 1)
    await add(services, dave, ("EUR", "buy", "1", "0"), ("EUR", "sell", "2", "0"))
    [eur] = await report(services, dave)
    assert (eur["trades"], eur["averagePrice"]) == (2, "1.50000000")
