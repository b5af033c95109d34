"""Driving the app in-process with Starlette's TestClient (which speaks WebSocket): sign up, add
trades, wait until a subscription has started."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from services import Services

PROTOCOL = "graphql-transport-ws"
ADD_TRADES = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"


def sign_up(client: TestClient, email: str) -> str:
    password = "trade-secret-1"
    client.post("/auth/register", json={"email": email, "password": password, "name": "T"})
    response = client.post("/auth/token", data={"username": email, "password": password})
    token: str = response.json()["access_token"]
    return token


def add_trades(client: TestClient, token: str, *currencies: str) -> None:
    trades = [{"currency": c, "side": "BUY", "price": "1", "amount": "1"} for c in currencies]
    response = client.post(
        "/graphql",
        json={"query": ADD_TRADES, "variables": {"t": trades}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert "errors" not in response.json(), response.text


def wait_for_subscribers(client: TestClient, count: int) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while services.broadcaster.fanout.subscriber_count < count:
        assert time.monotonic() < deadline, "the subscription never started"
        time.sleep(0.01)
