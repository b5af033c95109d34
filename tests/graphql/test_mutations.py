"""addTrades (ordering, idempotency), changeUserName and the trade report job."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from sqlalchemy import update

from db.models import IdempotencyKey, Job, Trade
from db.types import utcnow
from services import Services
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import (
    CHANGE_USER_NAME,
    JOB,
    REQUEST_TRADE_REPORT,
    TRADE_FIELDS,
    add_trades,
    added,
    assert_recent_utc,
    count_rows,
    error_code,
    trade,
    user_name,
)

EIGHT_PLACES = Decimal("0.00000001")

# --- addTrades -------------------------------------------------------------------------------


async def test_add_trades_returns_them_in_input_order(api: Api, alice: Account) -> None:
    given = [
        trade("ETH", "SELL", "2500", "2"),
        trade("btc", "BUY", "64000.5", "0.25"),
        trade("EUR", "BUY", "1.08", "1000"),
    ]
    stored = await added(api, alice.token, given)
    assert [(t["currency"], t["side"], t["price"], t["amount"]) for t in stored] == [
        ("ETH", "SELL", "2500.00000000", "2.00000000"),
        ("BTC", "BUY", "64000.50000000", "0.25000000"),
        ("EUR", "BUY", "1.08000000", "1000.00000000"),
    ]
    ids = [t["id"] for t in stored]
    assert len(set(ids)) == 3
    for t in stored:
        assert t["userId"] == alice.id
        assert t["user"] == {"id": alice.id, "name": "Alice"}
        assert_recent_utc(t["createdAt"])
    query = f"{{ trades {{ {TRADE_FIELDS} user {{ id name }} }} }}"
    listed = (await api.gql(query, token=alice.token))["data"]["trades"]
    assert sorted(listed, key=lambda t: t["id"]) == sorted(stored, key=lambda t: t["id"])


async def test_add_no_trades(api: Api, services: Services, alice: Account) -> None:
    assert await added(api, alice.token, []) == []
    assert await count_rows(services, Trade) == 0


async def test_repeated_idempotency_key_returns_the_first_result(
    api: Api, services: Services, alice: Account
) -> None:
    batch = [trade("BTC", "BUY", "100", "1"), trade("ETH", "SELL", "10", "3")]
    first = await added(api, alice.token, batch, key="order-1")
    again = await added(api, alice.token, batch, key="order-1")
    assert again == first
    assert await count_rows(services, Trade) == 2
    other_key = await added(api, alice.token, batch, key="order-2")
    assert {t["id"] for t in other_key}.isdisjoint(t["id"] for t in first)
    assert await count_rows(services, Trade) == 4


async def test_idempotency_key_with_different_trades_conflicts(
    api: Api, services: Services, alice: Account
) -> None:
    await added(api, alice.token, [trade(price="100")], key="order-1")
    body = await add_trades(api, alice.token, [trade(price="101")], key="order-1")
    assert error_code(body) == "CONFLICT"
    assert body["errors"][0]["extensions"]["argument"] == "idempotencyKey"
    assert await count_rows(services, Trade) == 1


async def test_users_have_their_own_idempotency_keys(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    batch = [trade()]
    [a] = await added(api, alice.token, batch, key="same-key")
    [b] = await added(api, bob.token, batch, key="same-key")
    assert a["id"] != b["id"]
    assert (a["userId"], b["userId"]) == (alice.id, bob.id)
    assert await count_rows(services, Trade) == 2
    # Bob reusing the key with other trades conflicts with his own first call only.
    assert error_code(await add_trades(api, bob.token, [trade(price="7")], "same-key")) == (
        "CONFLICT"
    )


async def test_concurrent_calls_with_one_key_add_one_batch(
    api: Api, services: Services, alice: Account
) -> None:
    """30 simultaneous retries of one request (within MAX_CONCURRENT_REQUESTS, 32): one batch
    is written, all see its ids."""
    batch = [trade("BTC", "BUY", "100", "1"), trade("ETH", "SELL", "10", "3")]
    bodies = await asyncio.gather(
        *(add_trades(api, alice.token, batch, key="retry-storm") for _ in range(30))
    )
    for body in bodies:
        assert "errors" not in body, body
    results = [[t["id"] for t in body["data"]["addTrades"]] for body in bodies]
    assert len({tuple(ids) for ids in results}) == 1
    assert len(results[0]) == 2
    assert await count_rows(services, Trade) == 2
    assert await count_rows(services, IdempotencyKey) == 1


async def test_an_expired_key_starts_afresh(api: Api, services: Services, alice: Account) -> None:
    """Past IDEMPOTENCY_TTL_HOURS a key is new again, even before the purge deletes it."""
    [first] = await added(api, alice.token, [trade(price="1")], key="daily")
    async with services.sessions.begin() as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25))
        )
    [second] = await added(api, alice.token, [trade(price="2")], key="daily")
    assert second["id"] != first["id"]
    assert await count_rows(services, Trade) == 2
    assert await count_rows(services, IdempotencyKey) == 1
    # Within the lifetime the new record holds: other trades under the key are a conflict.
    body = await add_trades(api, alice.token, [trade(price="3")], key="daily")
    assert error_code(body) == "CONFLICT"


async def test_rejected_call_does_not_use_up_its_key(
    api: Api, services: Services, alice: Account
) -> None:
    """A rejected batch records nothing: the key still works for the corrected batch."""
    body = await add_trades(api, alice.token, [trade(price="-1")], key="order-1")
    assert error_code(body) == "BAD_USER_INPUT"
    [stored] = await added(api, alice.token, [trade(price="1")], key="order-1")
    assert stored["price"] == "1.00000000"
    assert await count_rows(services, Trade) == 1


async def test_concurrent_calls_with_one_key_and_different_trades(
    api: Api, services: Services, alice: Account
) -> None:
    """Ten different batches racing on one key: one is written, the others conflict."""
    bodies = await asyncio.gather(
        *(add_trades(api, alice.token, [trade(price=str(n + 1))], "race") for n in range(10))
    )
    succeeded = [b for b in bodies if "errors" not in b]
    assert len(succeeded) == 1, bodies
    assert sorted(error_code(b) for b in bodies if "errors" in b) == ["CONFLICT"] * 9
    [winner] = succeeded[0]["data"]["addTrades"]
    assert await count_rows(services, Trade) == 1
    listed = (await api.gql("{ trades { id price } }", token=alice.token))["data"]["trades"]
    assert listed == [{"id": winner["id"], "price": winner["price"]}]


async def test_concurrent_calls_without_key_all_succeed(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    bodies = await asyncio.gather(
        *(add_trades(api, account.token, [trade(), trade("ETH")]) for account in [alice, bob] * 10)
    )
    for body in bodies:
        assert "errors" not in body, body
    ids = [t["id"] for body in bodies for t in body["data"]["addTrades"]]
    assert len(set(ids)) == 40
    assert await count_rows(services, Trade) == 40


# --- changeUserName --------------------------------------------------------------------------


async def test_change_user_name_returns_the_renamed_user(api: Api, alice: Account) -> None:
    query = CHANGE_USER_NAME.replace("{ id name }", "{ id name role email }")
    body = await api.gql(query, {"userId": alice.id, "newName": "Alice Liddell"}, alice.token)
    assert body == {
        "data": {
            "changeUserName": {
                "id": alice.id,
                "name": "Alice Liddell",
                "role": "user",
                "email": "alice@example.com",
            }
        }
    }
    assert await user_name(api, alice.token, alice.id) == "Alice Liddell"


# --- requestTradeReport ----------------------------------------------------------------------


def expected_summaries(trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report computed by hand with Python's decimal, at a generous precision."""
    by_currency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in trades:
        by_currency[t["currency"]].append(t)
    summaries = []
    with localcontext() as context:
        context.prec = 60
        for currency in sorted(by_currency):
            group = by_currency[currency]
            bought = sum((Decimal(t["amount"]) for t in group if t["side"] == "BUY"), Decimal(0))
            sold = sum((Decimal(t["amount"]) for t in group if t["side"] == "SELL"), Decimal(0))
            notional = sum((Decimal(t["price"]) * Decimal(t["amount"]) for t in group), Decimal(0))
            volume = bought + sold
            if volume:
                average = notional / volume
            else:  # no volume: the plain mean of prices
                average = sum((Decimal(t["price"]) for t in group), Decimal(0)) / len(group)
            summaries.append(
                {
                    "currency": currency,
                    "trades": len(group),
                    "boughtAmount": f"{bought.quantize(EIGHT_PLACES):f}",
                    "soldAmount": f"{sold.quantize(EIGHT_PLACES):f}",
                    "netAmount": f"{(bought - sold).quantize(EIGHT_PLACES):f}",
                    "averagePrice": f"{average.quantize(EIGHT_PLACES, ROUND_HALF_EVEN):f}",
                }
            )
    return summaries


async def run_report(api: Api, services: Services, token: str) -> dict[str, Any]:
    """Request a report, let the job run, and read the job back."""
    body = await api.gql(REQUEST_TRADE_REPORT, token=token)
    assert "errors" not in body, body
    queued = body["data"]["requestTradeReport"]
    assert queued["status"] == "QUEUED"
    assert queued["report"] is None
    await services.jobs.drain()
    body = await api.gql(JOB, {"id": queued["id"]}, token=token)
    assert "errors" not in body, body
    job: dict[str, Any] = body["data"]["job"]
    assert job["id"] == queued["id"]
    return job


async def test_trade_report_is_exact(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    trades = [
        trade("ETH", "BUY", "1", "1"),
        trade("BTC", "BUY", "100", "2"),
        trade("ETH", "BUY", "2", "2"),  # ETH average 5/3: rounds to 1.66666667
        trade("BTC", "BUY", "103", "1"),
        trade("BTC", "SELL", "110", "1.5"),  # BTC: (200 + 103 + 165) / 4.5
        trade("XRP", "BUY", "0.00000001", "1"),
        trade("XRP", "SELL", "0", "1"),  # XRP: 0.000000005, a tie: half-even gives 0
        trade("ADA", "SELL", "0.3", "0.00000003"),
        trade("ADA", "BUY", "0.7", "0.00000007"),
        trade("SOL", "SELL", "3", "2"),  # sold only: a negative net amount
    ]
    await added(api, alice.token, trades)
    await added(api, bob.token, [trade("BTC", "SELL", "1", "1000"), trade("DOT")])
    job = await run_report(api, services, alice.token)
    assert job["status"] == "COMPLETE"
    report = job["report"]
    assert report["userId"] == alice.id
    assert_recent_utc(report["generatedAt"])
    assert report["currencies"] == expected_summaries(trades)
    # The hand computation itself, spelled out for the main currencies:
    summaries = {c["currency"]: c for c in report["currencies"]}
    assert list(summaries) == ["ADA", "BTC", "ETH", "SOL", "XRP"]
    btc, eth, sol, xrp = (summaries[c] for c in ("BTC", "ETH", "SOL", "XRP"))
    assert btc == {
        "currency": "BTC",
        "trades": 3,
        "boughtAmount": "3.00000000",
        "soldAmount": "1.50000000",
        "netAmount": "1.50000000",
        "averagePrice": "104.00000000",
    }
    assert eth["averagePrice"] == "1.66666667"
    assert xrp["averagePrice"] == "0.00000000"
    assert xrp["netAmount"] == "0.00000000"
    assert (sol["soldAmount"], sol["netAmount"]) == ("2.00000000", "-2.00000000")


async def test_trade_report_with_zero_volume_uses_the_mean_price(
    api: Api, services: Services, alice: Account
) -> None:
    trades = [trade("BTC", "BUY", "1", "0"), trade("BTC", "SELL", "2", "0")]
    await added(api, alice.token, trades)
    job = await run_report(api, services, alice.token)
    assert job["report"]["currencies"] == [
        {
            "currency": "BTC",
            "trades": 2,
            "boughtAmount": "0.00000000",
            "soldAmount": "0.00000000",
            "netAmount": "0.00000000",
            "averagePrice": "1.50000000",
        }
    ]


async def test_trade_report_of_a_user_without_trades(
    api: Api, services: Services, alice: Account, bob: Account
) -> None:
    await added(api, bob.token, [trade()])
    job = await run_report(api, services, alice.token)
    assert job["status"] == "COMPLETE"
    assert job["report"]["userId"] == alice.id
    assert job["report"]["currencies"] == []
    assert await count_rows(services, Job) == 1
