"""Candles, as a client reads them: the same buckets a plain Python computation over the trades
gives (exact decimals, every interval, empty buckets absent), on SQLite and PostgreSQL; fresh
after addTrades; bad ranges refused with a code; priced by the buckets they span."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from db import data_versions
from db.models import Trade
from services import Services
from tests.utils.accounts import Account
from tests.utils.api import Api, error_codes
from tests.utils.app import process_factory
from tests.utils.graphql import added, trade
from tests.utils.settings import make_settings

CANDLES = """
query($currency: String!, $interval: CandleInterval!, $from: DateTime!, $to: DateTime) {
  candles(currency: $currency, interval: $interval, from: $from, to: $to) {
    currency interval start open high low close volume trades
  }
}
"""
SECONDS = {"ONE_MINUTE": 60, "FIVE_MINUTES": 300, "ONE_HOUR": 3_600, "ONE_DAY": 86_400}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Days before today at 00:00 UTC that the trades are spread over.
DAYS = 3


@dataclass(frozen=True)
class Placed:
    id: int
    price: Decimal
    amount: Decimal
    created_at: datetime


def bucket(moment: datetime, seconds: int) -> datetime:
    return EPOCH + (moment - EPOCH) // timedelta(seconds=seconds) * timedelta(seconds=seconds)


def expected_candles(
    trades: list[Placed], currency: str, interval: str, start: datetime, end: datetime | None
) -> list[dict[str, Any]]:
    """The candles, computed the plain way."""
    seconds = SECONDS[interval]
    first = bucket(start, seconds)
    buckets: defaultdict[datetime, list[Placed]] = defaultdict(list)
    for placed in trades:
        if first <= placed.created_at and (end is None or placed.created_at < end):
            buckets[bucket(placed.created_at, seconds)].append(placed)
    candles = []
    for begins in sorted(buckets):
        ordered = sorted(buckets[begins], key=lambda t: (t.created_at, t.id))
        prices = [t.price for t in ordered]
        candles.append(
            {
                "currency": currency,
                "interval": interval,
                "start": begins.isoformat(),
                "open": f"{prices[0]:f}",
                "high": f"{max(prices):f}",
                "low": f"{min(prices):f}",
                "close": f"{prices[-1]:f}",
                "volume": f"{sum(t.amount for t in ordered):f}",
                "trades": len(ordered),
            }
        )
    return candles


# Prices whose text orders otherwise than their values ('9.5' > '10.25'), and amounts whose sum a
# float gets wrong (17 significant digits, many 8-place fractions).
PRICES = ["9.5", "10.25", "100.00000001", "0.00000001", "99999.99999999", "9.49999999", "1000"]
AMOUNTS = ["0.10000001", "0.2", "123456789.12345678", "0.00000003", "7.77777777", "1"]


async def place(
    api: Api, services: Services, account: Account, count: int, seed: int
) -> list[Placed]:
    """`count` BTC trades through addTrades, then spread over the last DAYS days (to the
    microsecond, two of them at the same instant), as if placed then."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    inputs = [trade(price=rng.choice(PRICES), amount=rng.choice(AMOUNTS)) for _ in range(count)]
    done = await added(api, account.token, inputs)
    today = bucket(datetime.now(UTC), 86_400)
    moments = [
        today - timedelta(days=DAYS) + timedelta(microseconds=rng.randrange(DAYS * 86_400 * 10**6))
        for _ in done
    ]
    moments[1] = moments[0]  # the same instant: ids order them
    async with services.sessions() as session, session.begin():
        for row, moment in zip(done, moments, strict=True):
            await session.execute(
                update(Trade).where(Trade.id == row["id"]).values(created_at=moment)
            )
        await data_versions.bump(session, data_versions.TRADES)
    return [
        Placed(row["id"], Decimal(row["price"]), Decimal(row["amount"]), moment)
        for row, moment in zip(done, moments, strict=True)
    ]


async def sequenced(api: Api, token: str, trade_id: int) -> None:
    query = "query($id: Int!) { trade(id: $id) { seq } }"
    for _ in range(200):
        if (await api.data(query, token, id=trade_id))["trade"]["seq"] is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"trade {trade_id} was never given a place in the feed")


async def read(api: Api, token: str, **variables: Any) -> list[dict[str, Any]]:
    candles: list[dict[str, Any]] = (await api.data(CANDLES, token, **variables))["candles"]
    return candles


@pytest.mark.parametrize(
    ("interval", "hours"),
    [("ONE_MINUTE", 12), ("FIVE_MINUTES", 72), ("ONE_HOUR", 72), ("ONE_DAY", 72)],
)
async def test_candles_match_a_plain_computation(
    api: Api, services: Services, alice: Account, interval: str, hours: int
) -> None:
    placed = await place(api, services, alice, 300, seed=17)
    # Another currency's trades are no part of BTC's candles.
    await added(api, alice.token, [trade(currency="ETH", price="5", amount="5")])
    # Mid-bucket: the first bucket is still whole.
    start = bucket(datetime.now(UTC), 86_400) - timedelta(days=DAYS) + timedelta(seconds=150)
    ends: list[datetime | None] = [start + timedelta(hours=hours)]
    if interval in ("ONE_HOUR", "ONE_DAY"):
        ends.append(None)  # to: now
    for end in ends:
        found = await read(
            api,
            alice.token,
            currency="btc",
            interval=interval,
            **{"from": start.isoformat()},
            to=end.isoformat() if end else None,
        )
        assert found == expected_candles(placed, "BTC", interval, start, end)
        assert found, "the range holds trades"
        starts = [c["start"] for c in found]
        assert starts == sorted(set(starts))  # oldest first, one per bucket
        if interval == "ONE_MINUTE":
            # Most minutes of the range have no trade: empty buckets are absent.
            assert len(found) < hours * 60 / 2


async def test_high_low_and_volume_are_exact(api: Api, alice: Account) -> None:
    """Text comparison would make 9.5 the high and 10.25 the low; floats would lose digits."""
    amounts = ["0.1", "0.2", "123456789.12345678"] + ["0.00000001"] * 100 + ["0.33333333"] * 3
    prices = ["10.25", "9.5", "100", "9.49999999"]
    await added(
        api,
        alice.token,
        [trade(price=prices[i % len(prices)], amount=a) for i, a in enumerate(amounts)],
    )
    start = datetime.now(UTC) - timedelta(days=1)
    [candle] = await read(
        api, alice.token, currency="BTC", interval="ONE_DAY", **{"from": start.isoformat()}
    )
    assert (candle["high"], candle["low"]) == ("100.00000000", "9.49999999")
    assert candle["open"] == "10.25000000"
    assert candle["volume"] == "123456790.42345777"
    assert candle["volume"] == f"{sum(Decimal(a) for a in amounts):.8f}"
    assert candle["trades"] == len(amounts)


async def test_a_read_after_add_trades_sees_them(api: Api, alice: Account) -> None:
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    variables = {"currency": "BTC", "interval": "ONE_DAY", "from": start}
    await added(api, alice.token, [trade(price="10", amount="1")])
    first = await read(api, alice.token, **variables)
    assert await read(api, alice.token, **variables) == first
    await added(api, alice.token, [trade(price="12", amount="2")])
    [after] = await read(api, alice.token, **variables)
    assert after["trades"] == sum(c["trades"] for c in first) + 1
    assert after["close"] == "12.00000000"


async def test_candles_are_cached_under_the_trades_tag(
    api: Api, alice: Account, admin: Account
) -> None:
    stats = "{ cacheStats { hits misses } }"
    start = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    [placed] = await added(api, alice.token, [trade(price="10", amount="1")])
    # The feed's relay writes the trade's seq (a write of trades) soon after the commit.
    await sequenced(api, alice.token, placed["id"])
    await read(api, alice.token, currency="BTC", interval="ONE_MINUTE", **{"from": start})
    before = (await api.data(stats, admin.token))["cacheStats"]
    await read(api, alice.token, currency="BTC", interval="ONE_MINUTE", **{"from": start})
    after = (await api.data(stats, admin.token))["cacheStats"]
    assert after["hits"] > before["hits"]
    assert after["misses"] == before["misses"]


async def test_signed_in_only(api: Api) -> None:
    body = await api.gql(
        CANDLES,
        {"currency": "BTC", "interval": "ONE_HOUR", "from": "2026-01-01T00:00:00+00:00"},
    )
    assert error_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"currency": "b$"}, "currency"),
        ({"from": "2026-01-02T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"}, "to"),
        ({"from": "2026-01-01T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"}, "to"),
        ({"from": "2999-01-01T00:00:00+00:00"}, "to"),  # after now, the default `to`
        # 1,001 minutes.
        ({"interval": "ONE_MINUTE", "to": "2026-01-01T16:41:00.000001+00:00"}, "to"),
    ],
)
async def test_bad_ranges_are_refused_with_a_code(
    api: Api, alice: Account, variables: dict[str, Any], argument: str
) -> None:
    sent = {
        "currency": "BTC",
        "interval": "ONE_HOUR",
        "from": "2026-01-01T00:00:00+00:00",
        "to": "2026-01-02T00:00:00+00:00",
        **variables,
    }
    body = await api.gql(CANDLES, sent, token=alice.token)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["argument"] == argument


async def test_the_most_buckets_is_allowed(api: Api, alice: Account) -> None:
    sent = {
        "currency": "BTC",
        "interval": "ONE_MINUTE",
        "from": "2026-01-01T00:00:30+00:00",
        "to": "2026-01-01T16:40:00+00:00",  # 1,000 minutes from 00:00
    }
    assert await read(api, alice.token, **sent) == []


TWO_RANGES = """
query($from: DateTime!, $to: DateTime!) {
  a: candles(currency: "BTC", interval: ONE_MINUTE, from: $from, to: $to) {
    start open high low close volume trades
  }
  b: candles(currency: "ETH", interval: ONE_MINUTE, from: $from, to: $to) {
    start open high low close volume trades
  }
}
"""


async def test_cost_counts_the_buckets_a_range_spans(api: Api, alice: Account) -> None:
    """Two 1,000-minute ranges cost about 14,000 fields, over the budget; two 10-minute ones
    cost about 140."""
    long = {"from": "2026-01-01T00:00:00+00:00", "to": "2026-01-01T16:40:00+00:00"}
    body = await api.gql(TWO_RANGES, long, token=alice.token)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"], body
    short = {"from": "2026-01-01T00:00:00+00:00", "to": "2026-01-01T00:10:00+00:00"}
    assert await api.data(TWO_RANGES, alice.token, **short) == {"a": [], "b": []}
    # Literals are priced the same way.
    literal = (
        TWO_RANGES.replace("($from: DateTime!, $to: DateTime!)", "")
        .replace("$from", '"2026-01-01T00:00:00+00:00"')
        .replace("$to", '"2026-01-01T16:40:00+00:00"')
    )
    body = await api.gql(literal, {}, token=alice.token)
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"], body


async def test_trades_added_on_another_process_reach_cached_candles(
    database_url: str, redis_url: str
) -> None:
    """Two processes sharing Redis: B's addTrades makes A's cached candles stale everywhere."""
    process = process_factory(make_settings(database_url, redis_url=redis_url))
    async with process() as (api_a, services_a), process() as (api_b, _):
        _, alice = await api_a.signup("alice@example.com", "Alice")
        start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        variables = {"currency": "BTC", "interval": "ONE_DAY", "from": start}
        [placed] = await added(api_a, alice, [trade(price="10", amount="1")])
        await sequenced(api_a, alice, placed["id"])
        [before] = await read(api_a, alice, **variables)
        hits = services_a.reads.cache.stats.hits
        assert await read(api_a, alice, **variables) == [before]
        assert services_a.reads.cache.stats.hits == hits + 1  # the second read was cached
        await added(api_b, alice, [trade(price="11", amount="2")])
        [after] = await read(api_a, alice, **variables)
        assert after["trades"] == before["trades"] + 1
        assert (after["close"], after["volume"]) == ("11.00000000", "3.00000000")
