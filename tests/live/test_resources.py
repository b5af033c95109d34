"""Bounded resources: disconnects release everything, and slow consumers are cut off."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.live import Live, start_live

CYCLES = 500
QUEUE = 20
# About 4 kB per event: the kernel buffers between server and a slow reader fill sooner.
BULKY = (
    "subscription { tradeAdded { "
    + " ".join(f"u{i}: user {{ name registeredAt role }}" for i in range(60))
    + " } }"
)


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The defaults, but for new sockets a minute: the cycles reconnect as fast as they can."""
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("cycles"), ws_max_new_sockets_per_minute="10000"
    )


@pytest.fixture(scope="module")
def small_queues(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template,
        tmp_path_factory.mktemp("queues"),
        ws_subscriber_queue=str(QUEUE),
        graphql_max_aliases="100",  # BULKY's aliases
    )


def test_connect_subscribe_disconnect_cycles_return_to_baseline(live: Live) -> None:
    admin, alice = live.admin(), live.sign_up("cycles@example.com")
    baseline = live.wait_for(admin, lambda s: s["connections"] == 0)
    for cycle in range(CYCLES):
        with live.socket() as ws:
            ws.init({"authToken": alice.token})
            ws.subscribe("1", currency="BTC" if cycle % 2 else None)
            ws.subscribe("2")
            # A ping answered means both subscribe messages were handled.
            ws.send({"type": "ping"})
            assert ws.receive() == {"type": "pong"}
            if cycle % 3 == 0:
                ws.send({"id": "1", "type": "complete"})
            if cycle % 5 == 0:
                # A client that vanishes without a close frame.
                ws.connection.socket.shutdown(socket.SHUT_RDWR)
        if cycle == CYCLES // 2:
            # Midway the server still tracks what is open and nothing more.
            with live.socket() as ws:
                ws.init({"authToken": alice.token})
                ws.subscribe()
                live.wait_for(admin, lambda s: (s["connections"], s["subscriptions"]) == (1, 1))
    after = live.wait_for(
        admin,
        lambda s: (s["connections"], s["subscriptions"], s["tasks"]) == (0, 0, baseline["tasks"]),
    )
    assert after["subscriptions"] == baseline["subscriptions"] == 0


def test_a_slow_consumer_is_closed_with_1013(small_queues: Live) -> None:
    live = small_queues
    admin, alice = live.admin(), live.sign_up("slow@example.com")
    with live.socket(receive_buffer=4096) as slow, live.socket() as fast:
        slow.init({"authToken": alice.token})
        slow.subscribe(query=BULKY)
        fast.init({"authToken": alice.token})
        fast.subscribe()
        live.wait_for(admin, lambda s: s["subscriptions"] == 2)
        # `slow` reads nothing while batches far larger than its queue arrive.
        for _ in range(200):
            ids = live.add(alice.token, *["BTC"] * (QUEUE // 2))
            assert [fast.next_trade()["id"] for _ in ids] == ids
            if live.stats(admin)["slowConsumersClosed"]:
                break
        stats = live.wait_for(admin, lambda s: s["subscriptions"] == 1)
        assert stats["slowConsumersClosed"] == 1
        # What the slow reader had buffered, then the close: 1013, try again later.
        assert slow.close_code(timeout=10) == 1013
    live.wait_for(admin, lambda s: (s["connections"], s["subscriptions"]) == (0, 0))
