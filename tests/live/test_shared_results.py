"""Subscribers with the same selection share one execution per event, and never another
viewer's private fields."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.utils.live import Live, Socket, start_live

PUBLIC = "subscription { tradeAdded { id currency user { id name } } }"
PRIVATE = "subscription { tradeAdded { id user { id name email } } }"


def test_identical_selections_share_one_execution(live: Live) -> None:
    admin = live.admin()
    alice, bob = live.sign_up("share-a@example.com"), live.sign_up("share-b@example.com")
    with live.socket() as a, live.socket() as b, live.socket() as c:
        for ws, account in ((a, alice), (b, bob), (c, bob)):
            ws.init({"authToken": account.token})
            ws.subscribe(query=PUBLIC)
        before = live.wait_for(admin, lambda s: s["subscriptions"] >= 3)
        [trade_id] = live.add(alice.token, "BTC")
        received = [ws.next_trade() for ws in (a, b, c)]
        after = live.stats(admin)
    assert all(r == received[0] for r in received)
    assert received[0]["id"] == trade_id
    assert after["executions"] - before["executions"] == 1
    assert after["sharedResults"] - before["sharedResults"] == 2


def test_each_socket_is_sent_the_shared_payload_under_its_own_operation_id(live: Live) -> None:
    """The `next` of a shared result is encoded once and each operation's id spliced in: every
    subscriber of a selection gets the same payload under its own id, another selection its own
    payload, and every message is whole graphql-transport-ws JSON."""
    alice = live.sign_up("splice@example.com")
    other = "subscription { tradeAdded { id price } }"
    with live.socket() as a, live.socket() as b, live.socket() as c:
        for ws in (a, b, c):
            ws.init({"authToken": alice.token})
        a.subscribe("first", query=PUBLIC)
        a.subscribe('second "quoted"', query=PUBLIC)  # the id is JSON-escaped in the message
        b.subscribe("third", query=PUBLIC)
        c.subscribe("fourth", query=other)
        live.wait_for(live.admin(), lambda s: s["subscriptions"] >= 4)
        [trade_id] = live.add(alice.token, "BTC", price="7")
        sent = sorted((a.receive(), a.receive(), b.receive(), c.receive()), key=lambda m: m["id"])
    assert [(m["id"], m["type"], set(m)) for m in sent] == [
        (id, "next", {"id", "type", "payload"})
        for id in ("first", "fourth", 'second "quoted"', "third")
    ]
    first, fourth, second, third = (m["payload"] for m in sent)
    assert first == second == third
    assert first["data"]["tradeAdded"]["id"] == trade_id
    assert fourth == {"data": {"tradeAdded": {"id": trade_id, "price": "7.00000000"}}}


def test_viewer_dependent_selections_are_shared_per_viewer_only(live: Live) -> None:
    admin = live.admin()
    alice = live.sign_up("private-a@example.com", name="Alice")
    bob = live.sign_up("private-b@example.com", name="Bob")
    sockets = [(alice, "private-a@example.com"), (bob, None), (admin, "private-a@example.com")]
    with live.socket() as a, live.socket() as b, live.socket() as c:
        for ws, (account, _) in zip((a, b, c), sockets, strict=True):
            ws.init({"authToken": account.token})
            ws.subscribe(query=PRIVATE)
        before = live.wait_for(admin, lambda s: s["subscriptions"] >= 3)
        live.add(alice.token, "ETH")
        emails = [ws.next_trade()["user"]["email"] for ws in (a, b, c)]
        after = live.stats(admin)
    assert emails == [expected for _, expected in sockets]
    assert after["executions"] - before["executions"] == 3


def test_different_variables_are_executed_apart(live: Live) -> None:
    admin, alice = live.admin(), live.sign_up("vars@example.com")
    with live.socket() as everything, live.socket() as btc:
        everything.init({"authToken": alice.token})
        everything.subscribe()
        btc.init({"authToken": alice.token})
        btc.subscribe(currency="BTC")
        before = live.wait_for(admin, lambda s: s["subscriptions"] >= 2)
        [trade_id] = live.add(alice.token, "BTC")
        assert everything.next_trade()["id"] == btc.next_trade()["id"] == trade_id
        after = live.stats(admin)
    assert after["executions"] - before["executions"] == 2


@pytest.fixture(scope="module")
def crowded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """200 subscriptions of cost 6 per user: a live budget of 1,200 per user per event."""
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("crowded"), graphql_max_live_cost="1200"
    )


def test_a_thousand_subscribers_share_one_execution_per_event(crowded: Live) -> None:
    """50 sockets of 20 subscriptions (5 users at their socket cap): each event of a batch is
    executed once, and the other 999 subscribers reuse its result."""
    live = crowded
    admin = live.admin()
    users = [live.sign_up(f"fan-out-{n}@example.com") for n in range(5)]
    batch = 20
    with ExitStack() as stack:
        sockets = [stack.enter_context(live.socket()) for _ in range(50)]
        for n, ws in enumerate(sockets):
            ws.init({"authToken": users[n % 5].token})
            for s in range(20):
                ws.subscribe(str(s), query=PUBLIC)
        before = live.wait_for(admin, lambda s: s["subscriptions"] >= 1000)
        added = live.add(users[0].token, *["BTC"] * batch)
        with ThreadPoolExecutor(max_workers=10) as pool:
            received = list(pool.map(lambda ws: _trade_ids(ws, 20 * batch), sockets))
        after = live.stats(admin)
    assert all(sorted(ids) == sorted(added * 20) for ids in received)
    assert after["executions"] - before["executions"] == batch
    assert after["sharedResults"] - before["sharedResults"] == batch * 999


def _trade_ids(ws: Socket, count: int) -> list[int]:
    return [ws.receive(timeout=30)["payload"]["data"]["tradeAdded"]["id"] for _ in range(count)]
