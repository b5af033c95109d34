"""Money is exact: decimals round trip unchanged on SQLite and PostgreSQL, never via float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Trade
from services import Services
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import JOB, REQUEST_TRADE_REPORT, TRADE_FIELDS, added, trade

TRADE = f"query($id: Int!) {{ trade(id: $id) {{ {TRADE_FIELDS} }} }}"


async def read_trade(api: Api, token: str, trade_id: int) -> dict[str, Any]:
    body = await api.gql(TRADE, {"id": trade_id}, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["trade"]
    return found


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0.1", "0.10000000"),
        ("0.2", "0.20000000"),
        ("12345678.12345678", "12345678.12345678"),
        ("0.00000001", "0.00000001"),
        ("999999999999.99999999", "999999999999.99999999"),
        ("1E-8", "0.00000001"),
        ("1E+2", "100.00000000"),
        ("0.100000000000", "0.10000000"),
        ("100", "100.00000000"),
        ("0", "0.00000000"),
    ],
)
async def test_decimal_round_trips_exactly(
    api: Api, alice: Account, given: str, expected: str
) -> None:
    [stored] = await added(api, alice.token, [trade(price=given, amount=given)])
    assert (stored["price"], stored["amount"]) == (expected, expected)
    found = await read_trade(api, alice.token, stored["id"])
    assert (found["price"], found["amount"]) == (expected, expected)


async def test_negative_zero_is_never_printed(api: Api, alice: Account) -> None:
    """-0 equals 0, a valid price; if accepted it reads back as plain zero."""
    body = await api.gql(
        "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id price amount } }",
        {"t": [trade(price="-0", amount="-0.0")]},
        token=alice.token,
    )
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        return
    [stored] = body["data"]["addTrades"]
    assert (stored["price"], stored["amount"]) == ("0.00000000", "0.00000000")
    found = await read_trade(api, alice.token, stored["id"])
    assert (found["price"], found["amount"]) == ("0.00000000", "0.00000000")


@pytest.mark.parametrize(("given", "expected"), [(0.1, "0.10000000"), (5, "5.00000000")])
async def test_json_numbers_are_read_as_written(
    api: Api, alice: Account, given: float, expected: str
) -> None:
    """A JSON number in variables is taken as its decimal text, not as a binary float."""
    [stored] = await added(api, alice.token, [trade(price=given, amount="1")])
    assert stored["price"] == expected
    assert (await read_trade(api, alice.token, stored["id"]))["price"] == expected


async def test_stored_value_is_an_exact_decimal(
    api: Api, services: Services, alice: Account
) -> None:
    await added(api, alice.token, [trade(price="0.1", amount="999999999999.99999999")])
    async with services.sessions() as session:
        price, amount = (await session.execute(select(Trade.price, Trade.amount))).one()
    assert isinstance(price, Decimal)
    assert price == Decimal("0.1")
    assert isinstance(amount, Decimal)
    assert amount == Decimal("999999999999.99999999")


async def test_report_sums_exactly(api: Api, services: Services, alice: Account) -> None:
    """0.1 + 0.2 is 0.3 in the report (a float sum would be 0.30000000000000004)."""
    await added(
        api,
        alice.token,
        [trade("BTC", "BUY", "1", "0.1"), trade("BTC", "BUY", "1", "0.2")],
    )
    body = await api.gql(REQUEST_TRADE_REPORT, token=alice.token)
    job_id = body["data"]["requestTradeReport"]["id"]
    await services.jobs.drain()
    job = (await api.gql(JOB, {"id": job_id}, token=alice.token))["data"]["job"]
    assert job["status"] == "COMPLETE"
    [btc] = job["report"]["currencies"]
    assert btc == {
        "currency": "BTC",
        "trades": 2,
        "boughtAmount": "0.30000000",
        "soldAmount": "0.00000000",
        "netAmount": "0.30000000",
        "averagePrice": "1.00000000",
    }
