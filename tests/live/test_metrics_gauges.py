"""/metrics sees open sockets and subscriptions, and forgets them when they end."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from tests.utils.live import Live

CONNECTIONS = "trading_api_websocket_connections"
SUBSCRIPTIONS = "trading_api_subscriptions"


def gauges(live: Live) -> tuple[float, float]:
    with live.http() as http:
        response = http.get("/metrics")  # from loopback: allowed by default
    assert response.status_code == 200, response.text
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return values[CONNECTIONS], values[SUBSCRIPTIONS]


def wait_for_gauges(live: Live, expected: tuple[float, float]) -> None:
    deadline = time.monotonic() + 10
    while (seen := gauges(live)) != expected:
        assert time.monotonic() < deadline, f"gauges stayed at {seen}, expected {expected}"
        time.sleep(0.05)


def test_socket_and_subscription_gauges_follow_clients(live: Live) -> None:
    alice = live.sign_up("gauges@example.com")
    wait_for_gauges(live, (0, 0))
    with live.socket() as first, live.socket() as second:
        for ws in (first, second):
            ws.init({"authToken": alice.token})
        first.subscribe("1")
        first.subscribe("2", currency="BTC")
        second.subscribe("1")
        wait_for_gauges(live, (2, 3))
        first.send({"id": "2", "type": "complete"})
        wait_for_gauges(live, (2, 2))
    wait_for_gauges(live, (0, 0))
