"""The live feed on both databases: positions given once, consecutive and in commit order; a
process that missed messages fills the gap from the database; a client resumes after a seq."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from events.fanout import Fanout, TradeEvent
from events.feed import LiveFeed
from main import create_app
from services import Services
from settings import Settings
from tests.events.in_process import PROTOCOL, add_trades, sign_up, wait_for_subscribers
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.graphql import added, error_code, trade
from tests.utils.settings import make_settings

SEQS = "{ trades(limit: 100) { id seq } }"


async def placed(api: Api, services: Services, token: str, *currencies: str) -> list[int]:
    """Add one trade per currency, one batch each; the relay places them (as after a commit)."""
    ids = []
    for currency in currencies:
        [new] = await added(api, token, [trade(currency)])
        ids.append(int(new["id"]))
    await services.relay.deliver()
    return ids


async def seqs_by_id(api: Api, token: str) -> dict[int, int]:
    body = await api.gql(SEQS, token=token)
    assert "errors" not in body, body
    return {int(t["id"]): int(t["seq"] or 0) for t in body["data"]["trades"]}  # 0: not placed yet


async def take(events: AsyncIterator[TradeEvent], count: int) -> list[int]:
    return [(await asyncio.wait_for(anext(events), 5)).trade.seq or 0 for _ in range(count)]


async def test_trades_get_consecutive_positions_in_commit_order(
    api: Api, services: Services
) -> None:
    _, token = await api.signup("alice@example.com", "Alice")
    ids = await placed(api, services, token, "BTC", "ETH", "BTC")
    assert await seqs_by_id(api, token) == {ids[0]: 1, ids[1]: 2, ids[2]: 3}
    # Placed once: delivering again gives nothing new a position.
    await services.relay.deliver()
    assert await seqs_by_id(api, token) == {ids[0]: 1, ids[1]: 2, ids[2]: 3}


async def test_the_mutation_answers_before_its_trades_are_placed(api: Api) -> None:
    _, token = await api.signup("alice@example.com", "Alice")
    body = await api.gql(
        "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id seq } }",
        {"t": [trade("BTC")]},
        token=token,
    )
    assert body["data"]["addTrades"][0]["seq"] is None


async def test_a_feed_that_missed_messages_fills_the_gap_in_order(
    api: Api, services: Services
) -> None:
    fanout = Fanout(queue_size=100)
    feed = LiveFeed(services.sessions, fanout, poll_seconds=60)  # no poll within the test
    await feed.start()
    try:
        async with fanout.subscribe() as subscriber:
            _, token = await api.signup("alice@example.com", "Alice")
            await placed(api, services, token, "BTC", "ETH", "BTC", "ETH")
            events = await _own_events(services)
            # Only the third reaches this process: the first two are read from the database.
            feed.receive([events[2]])
            stream = subscriber.events()
            assert await take(stream, 3) == [1, 2, 3]
            # Repeats and late arrivals are passed over; what is new comes once, in order.
            feed.receive([events[3], events[0], events[2]])
            feed.receive([events[3]])
            assert await take(stream, 1) == [4]
            await asyncio.sleep(0.1)
            assert fanout.counters.delivered == 4
    finally:
        await feed.close()


async def test_a_feed_that_hears_nothing_catches_up_by_polling(
    api: Api, services: Services
) -> None:
    fanout = Fanout(queue_size=100)
    feed = LiveFeed(services.sessions, fanout, poll_seconds=0.05)
    await feed.start()
    try:
        async with fanout.subscribe("ETH") as subscriber:
            _, token = await api.signup("alice@example.com", "Alice")
            await placed(api, services, token, "BTC", "ETH", "ETH")
            assert await take(subscriber.events(), 2) == [2, 3]
    finally:
        await feed.close()


async def _own_events(services: Services) -> list[TradeEvent]:
    """The placed trades as the relay hands them on, read back from the feed's replay."""
    return [event async for event in services.feed.replay(0, None)]


async def test_two_processes_writing_at_once_get_one_order(settings: Settings) -> None:
    """Positions are given under one lock: never twice, never skipped, whoever places them."""
    async with serve(settings) as (first, _), serve(settings) as (second, _):
        apis = [Api(first), Api(second)]
        _, token = await apis[0].signup("alice@example.com", "Alice")

        async def write(api: Api, count: int) -> None:
            for _ in range(count):
                await added(api, token, [trade("BTC"), trade("ETH")])

        await asyncio.gather(write(apis[0], 10), write(apis[1], 10))
        for _ in range(100):
            by_id = await seqs_by_id(apis[1], token)
            if len(by_id) == 40 and all(by_id.values()):
                break
            await asyncio.sleep(0.05)
        assert sorted(by_id.values()) == list(range(1, 41))
        # Within a batch, and between batches of one writer, ids and positions agree.
        assert sorted(by_id, key=by_id.__getitem__) == sorted(by_id)


# Resuming through the subscription (graphql-transport-ws, in-process).


def _resume(ws: Any, token: str, after: str | None, currency: str | None = None) -> None:
    ws.send_json({"type": "connection_init", "payload": {"authToken": token}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": "subscription($c: String, $a: String) "
                "{ tradeAdded(currency: $c, after: $a) { id seq currency } }",
                "variables": {"c": currency, "a": after},
            },
        }
    )


def _deliver(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    client.portal.call(services.relay.deliver)  # type: ignore[union-attr]


def test_a_subscriber_resumes_after_the_last_seq_it_saw(sync_client: TestClient) -> None:
    token = sign_up(sync_client, "live@example.com")
    for currency in ("BTC", "ETH", "BTC", "BTC"):
        add_trades(sync_client, token, currency)
    _deliver(sync_client)
    with sync_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        _resume(ws, token, after="1", currency="BTC")
        replayed = [ws.receive_json()["payload"]["data"]["tradeAdded"] for _ in range(2)]
        assert [(t["seq"], t["currency"]) for t in replayed] == [("3", "BTC"), ("4", "BTC")]
        wait_for_subscribers(sync_client, 1)
        add_trades(sync_client, token, "ETH", "BTC")
        live = ws.receive_json()["payload"]["data"]["tradeAdded"]
        assert (live["seq"], live["currency"]) == ("6", "BTC")


def test_resuming_from_a_position_the_feed_never_gave_is_bad_input(
    sync_client: TestClient,
) -> None:
    token = sign_up(sync_client, "live@example.com")
    add_trades(sync_client, token, "BTC")
    _deliver(sync_client)
    for after in ("2", "-1", "one", "9" * 30):
        with sync_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            _resume(ws, token, after=after)
            message = ws.receive_json()
            assert message["type"] == "next", message
            assert error_code(message["payload"]) == "BAD_USER_INPUT"


@pytest.fixture
def settings_with_short_replay(database_url: str) -> Settings:
    return make_settings(database_url, feed_max_replay=2)


def test_a_gap_longer_than_a_replay_tells_the_client_to_refetch(
    settings_with_short_replay: Settings,
) -> None:
    with TestClient(create_app(settings_with_short_replay)) as client:
        token = sign_up(client, "live@example.com")
        for currency in ("BTC", "ETH", "BTC"):
            add_trades(client, token, currency)
        _deliver(client)
        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            _resume(ws, token, after="0")
            message = ws.receive_json()
            assert error_code(message["payload"]) == "FEED_GAP"
        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            _resume(ws, token, after="1")
            seqs = [ws.receive_json()["payload"]["data"]["tradeAdded"]["seq"] for _ in range(2)]
            assert seqs == ["2", "3"]
