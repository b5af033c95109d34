"""Live trades in-process (Starlette's TestClient) on both databases; tests/live has the
real-socket tests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.events.in_process import (
    ADD_TRADES,
    PROTOCOL,
    add_trades,
    sign_up,
    wait_for_subscribers,
)


def _subscribe(ws: Any, token: str | None, currency: str | None = None) -> None:
    ws.send_json({"type": "connection_init", "payload": {"authToken": token} if token else {}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": "subscription($c: String) { tradeAdded(currency: $c) "
                "{ id currency price user { id } } }",
                "variables": {"c": currency},
            },
        }
    )


def test_subscriber_receives_committed_trades_of_its_currency(sync_client: TestClient) -> None:
    token = sign_up(sync_client, "live@example.com")
    with sync_client.websocket_connect(
        "/graphql",
        subprotocols=[PROTOCOL],
        headers={"Authorization": f"Bearer {token}"},
    ) as ws:
        _subscribe(ws, token, currency="btc")
        wait_for_subscribers(sync_client, 1)
        add_trades(sync_client, token, "ETH", "BTC")
        message = ws.receive_json()
        assert message["type"] == "next"
        assert message["payload"]["data"]["tradeAdded"]["currency"] == "BTC"
        assert message["payload"]["data"]["tradeAdded"]["price"] == "1.00000000"
        # The ETH trade was filtered out: the next event is the next BTC trade.
        add_trades(sync_client, token, "BTC")
        second = ws.receive_json()["payload"]["data"]["tradeAdded"]
        assert second["id"] > message["payload"]["data"]["tradeAdded"]["id"]
    wait_for_subscribers(sync_client, 0)


def test_rejected_batch_publishes_nothing(sync_client: TestClient) -> None:
    token = sign_up(sync_client, "live2@example.com")
    with sync_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        _subscribe(ws, token)
        wait_for_subscribers(sync_client, 1)
        bad = [
            {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"},
            {"currency": "BTC", "side": "BUY", "price": "-1", "amount": "1"},
        ]
        response = sync_client.post(
            "/graphql",
            json={"query": ADD_TRADES, "variables": {"t": bad}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        add_trades(sync_client, token, "EUR")
        # The first event the subscriber sees is the later, valid trade.
        assert ws.receive_json()["payload"]["data"]["tradeAdded"]["currency"] == "EUR"
