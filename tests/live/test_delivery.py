"""Delivery: committed trades only, each once, in commit order, filtered on the server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.utils.live import ADD_TRADES, Live

ADD_TRADES_ONCE = """mutation($t: [TradeInput!]!, $k: String) {
  addTrades(trades: $t, idempotencyKey: $k) { id } }"""


def test_currency_filter_applies_on_the_server(live: Live) -> None:
    admin, alice = live.admin(), live.sign_up("filter@example.com")
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.subscribe(currency="btc")  # case-insensitive, like trade input
        before = live.wait_for(admin, lambda s: s["subscriptions"] >= 1)
        eth, btc = live.add(alice.token, "ETH", "BTC")
        assert ws.next_trade()["id"] == btc
        # Only the BTC trade was handed to this subscriber: ETH never left the server.
        assert live.stats(admin)["delivered"] - before["delivered"] == 1
        [later] = live.add(alice.token, "BTC")
        assert ws.next_trade()["id"] == later > eth


def test_a_rejected_batch_publishes_nothing(live: Live) -> None:
    alice = live.sign_up("rejected@example.com")
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.subscribe()
        live.wait_for(live.admin(), lambda s: s["subscriptions"] >= 1)
        invalid = [
            {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"},
            {"currency": "BTC", "side": "BUY", "price": "-1", "amount": "1"},
        ]
        unknown_user = [
            {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1", "userId": 10**9}
        ]
        for batch in (invalid, unknown_user):
            body = live.gql(alice.token, ADD_TRADES, t=batch)
            assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "FORBIDDEN")
        key = "rejected-key"
        first = live.gql(alice.token, ADD_TRADES_ONCE, t=invalid[:1], k=key)
        assert "errors" not in first
        ws.next_trade()  # the accepted batch
        # The same key again: answered from the first result, nothing new is published.
        replay = live.gql(alice.token, ADD_TRADES_ONCE, t=invalid[:1], k=key)
        assert replay["data"] == first["data"]
        [eur] = live.add(alice.token, "EUR")
        # The next event is the later, valid trade: nothing from the rejected or replayed calls.
        assert ws.next_trade()["id"] == eur


def test_every_subscriber_gets_every_trade_once_in_commit_order(live: Live) -> None:
    alice = live.sign_up("order@example.com")
    batches, size = 20, 3
    with live.socket() as one, live.socket() as two:
        for ws in (one, two):
            ws.init({"authToken": alice.token})
            ws.subscribe()
        live.wait_for(live.admin(), lambda s: s["subscriptions"] >= 2)
        with ThreadPoolExecutor(max_workers=8) as pool:
            added = list(pool.map(lambda _: live.add(alice.token, *["ADA"] * size), range(batches)))
        seen = [[one.next_trade()["id"] for _ in range(batches * size)]]
        seen.append([two.next_trade()["id"] for _ in range(batches * size)])
    assert seen[0] == seen[1]
    assert sorted(seen[0]) == sorted(i for batch in added for i in batch)  # each exactly once
    # SQLite commits one writer at a time, so commit order is id order; batches stay whole.
    assert seen[0] == sorted(seen[0])
