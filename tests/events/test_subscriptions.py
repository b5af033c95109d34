"""Live trades in-process (Starlette's TestClient) on both databases; tests/live has the
real-socket tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from main import create_app
from services import Services
from settings import Settings

PROTOCOL = "graphql-transport-ws"
ADD_TRADES = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"


@pytest.fixture
def sync_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _signup(client: TestClient, email: str) -> str:
    password = "trade-secret-1"
    client.post("/auth/register", json={"email": email, "password": password, "name": "T"})
    response = client.post("/auth/token", data={"username": email, "password": password})
    token: str = response.json()["access_token"]
    return token


def _add(client: TestClient, token: str, *currencies: str) -> None:
    trades = [{"currency": c, "side": "BUY", "price": "1", "amount": "1"} for c in currencies]
    response = client.post(
        "/graphql",
        json={"query": ADD_TRADES, "variables": {"t": trades}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert "errors" not in response.json(), response.text


def _wait_for_subscribers(client: TestClient, count: int) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while services.broadcaster.fanout.subscriber_count < count:
        assert time.monotonic() < deadline, "the subscription never started"
        time.sleep(0.01)


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
    token = _signup(sync_client, "live@example.com")
    with sync_client.websocket_connect(
        "/graphql",
        subprotocols=[PROTOCOL],
        headers={"Authorization": f"Bearer {token}"},
    ) as ws:
        _subscribe(ws, token, currency="btc")
        _wait_for_subscribers(sync_client, 1)
        _add(sync_client, token, "ETH", "BTC")
        message = ws.receive_json()
        assert message["type"] == "next"
        assert message["payload"]["data"]["tradeAdded"]["currency"] == "BTC"
        assert message["payload"]["data"]["tradeAdded"]["price"] == "1.00000000"
        # The ETH trade was filtered out: the next event is the next BTC trade.
        _add(sync_client, token, "BTC")
        second = ws.receive_json()["payload"]["data"]["tradeAdded"]
        assert second["id"] > message["payload"]["data"]["tradeAdded"]["id"]
    _wait_for_subscribers(sync_client, 0)


def test_rejected_batch_publishes_nothing(sync_client: TestClient) -> None:
    token = _signup(sync_client, "live2@example.com")
    with sync_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        _subscribe(ws, token)
        _wait_for_subscribers(sync_client, 1)
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
        _add(sync_client, token, "EUR")
        # The first event the subscriber sees is the later, valid trade.
        assert ws.receive_json()["payload"]["data"]["tradeAdded"]["currency"] == "EUR"
