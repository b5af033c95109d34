"""One cost model for every operation and transport, against a live server: subscriptions are
priced per event, a mutation's list result at its input's length, a report request at its own
price, and list arguments are counted before their items are coerced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.security.live import REFUSAL_CPU_SECONDS, cost_of
from tests.utils.live import Account, Live, Socket

HEAVY_LIVE = (
    "subscription { tradeAdded { user { trades(limit: 100) { user { trades(limit: 100) "
    "{ user { trades(limit: 20) { id } } } } } } } }"
)
TRADE = {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}


@pytest.fixture(scope="module")
def bob(live: Live) -> Account:
    return live.sign_up("cost-bob@example.com")


def only_error(payload: Any) -> dict[str, Any]:
    errors = payload if isinstance(payload, list) else payload["errors"]
    assert len(errors) == 1, payload
    error: dict[str, Any] = errors[0]
    return error


def refusal(socket: Socket, id: str) -> dict[str, Any]:
    """The request error (graphql-transport-ws `error`) a subscribe is answered with."""
    message = socket.receive()
    assert message["id"] == id, message
    assert message["type"] == "error", message
    return only_error(message["payload"])


def test_a_subscription_over_budget_is_refused(live: Live, alice: Account, bob: Account) -> None:
    """Accepted before, each event then cost 4.2-4.9 s of CPU and 2.8 MB."""
    live.add(bob.token, *["BTC"] * 100)  # something for the selection to find
    with live.socket() as socket:
        socket.init({"authToken": alice.token})
        with cost_of(live) as cost:
            socket.subscribe(id="heavy", query=HEAVY_LIVE)
            error = refusal(socket, "heavy")
            live.add(bob.token, "BTC")
            # The socket still serves what fits: the next trade arrives, the heavy one never.
            # ETH only: the BTC trade just committed may still be placed after this subscribes.
            light = 'subscription { tradeAdded(currency: "ETH") { id } }'
            socket.subscribe(id="light", query=light)
            trade_id = live.add(bob.token, "ETH")[0]
            assert socket.next_trade("light") == {"id": trade_id}
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["budget"] == 10_000
    assert cost.cpu_seconds < 3 * REFUSAL_CPU_SECONDS, cost  # three requests and a delivery


def test_live_subscriptions_of_a_user_share_one_budget(live: Live, alice: Account) -> None:
    """Within the budget each, ten distinct selections ran for every trade: 18 s of CPU for
    ten trades. Together they are held to GRAPHQL_MAX_LIVE_COST (500) per event."""
    queries = [
        f"subscription {{ tradeAdded {{ n{i}: user {{ trades(limit: 50) {{ id }} }} }} }}"
        for i in range(10)
    ]  # 53 each, per event
    with live.socket() as socket:
        socket.init({"authToken": alice.token})
        for i, query in enumerate(queries[:9]):
            socket.subscribe(id=str(i), query=query)
        socket.subscribe(id="over", query=queries[9])
        error = refusal(socket, "over")
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 530, "budget": 500}
        # Another socket of the same user does not get a budget of its own.
        with live.socket() as second:
            second.init({"authToken": alice.token})
            second.subscribe(id="more", query=queries[9])
            assert refusal(second, "more")["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        # Ending a subscription gives its share back.
        socket.send({"id": "0", "type": "complete"})
        with live.socket() as third:
            third.init({"authToken": alice.token})
            third.subscribe(id="again", query=queries[9])
            trade_id = live.add(alice.token, "BTC")[0]
            message = third.receive()
            assert message["type"] == "next", message
            assert message["payload"]["data"]["tradeAdded"]["n9"]["trades"][0]["id"] == trade_id


def test_a_replayed_batch_is_priced_at_its_length(live: Live, alice: Account) -> None:
    """Priced as 10 items, a replay returned 1,000: 26-31 s of CPU, repeatable forever."""
    cheap = (
        "mutation($t: [TradeInput!]!, $k: String) { addTrades(trades: $t, idempotencyKey: $k) "
        "{ id } }"
    )
    heavy = (
        "mutation($t: [TradeInput!]!, $k: String) { addTrades(trades: $t, idempotencyKey: $k) "
        "{ user { trades(limit: 100) { user { trades(limit: 7) { id } } } } } }"
    )
    batch = [TRADE] * 1_000
    body = live.gql(alice.token, cheap, t=batch, k="replayed")
    assert "errors" not in body, body
    with cost_of(live) as cost:
        body = live.gql(alice.token, heavy, t=batch, k="replayed")
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] > 10_000
    assert cost.cpu_seconds < REFUSAL_CPU_SECONDS, cost


def test_too_many_list_items_are_refused_before_they_are_coerced(
    live: Live, alice: Account
) -> None:
    """15,000 trades fit a 1 MiB body: coerced, they cost seconds before "at most 1000"."""
    mutation = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"
    batch = [TRADE] * 15_000
    assert len(json.dumps({"query": mutation, "variables": {"t": batch}})) < 1_048_576
    with cost_of(live) as cost:
        for _ in range(5):
            body = live.gql(alice.token, mutation, t=batch)
            error = only_error(body)
            assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "trades"}
            assert error["message"] == "trades: at most 1000 trades per call"
    assert cost.per(5) < REFUSAL_CPU_SECONDS, cost


def test_report_requests_carry_their_own_price(live: Live, alice: Account) -> None:
    """30 aliased requestTradeReport over 21,000 trades: 13 s of worker CPU."""
    aliased = "mutation { " + " ".join(f"r{i}: requestTradeReport {{ id }}" for i in range(30))
    with cost_of(live) as cost:
        body = live.gql(alice.token, aliased + " }")
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"] > 10_000
    assert cost.cpu_seconds < REFUSAL_CPU_SECONDS, cost
    jobs = live.gql(live.admin().token, "{ jobs { id } }")
    assert jobs == {"data": {"jobs": []}}, jobs
