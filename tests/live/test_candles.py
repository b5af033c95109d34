"""candleUpdated over a real WebSocket: after addTrades the subscriber gets the bucket the trades
fell in, with its open/high/low/close/volume as the database holds them; trades of another
currency send nothing; subscribers of one bucket share one read of it; it is priced."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.utils.live import Live, Socket

CANDLE_UPDATED = """
subscription($c: String!, $i: CandleInterval!) {
  candleUpdated(currency: $c, interval: $i) {
    currency interval start open high low close volume trades
  }
}
"""
ADD = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id createdAt } }"


def subscribe(ws: Socket, currency: str, interval: str, id: str = "1") -> None:
    ws.send(
        {
            "id": id,
            "type": "subscribe",
            "payload": {"query": CANDLE_UPDATED, "variables": {"c": currency, "i": interval}},
        }
    )


def next_candle(ws: Socket, id: str = "1") -> dict[str, Any]:
    message = ws.receive()
    assert message["type"] == "next" and message["id"] == id, message
    assert "errors" not in message["payload"], message
    candle: dict[str, Any] = message["payload"]["data"]["candleUpdated"]
    return candle


def place(live: Live, token: str, *trades: tuple[str, str, str]) -> list[dict[str, Any]]:
    """(currency, price, amount) trades in one addTrades call."""
    sent = [{"currency": c, "side": "BUY", "price": p, "amount": a} for c, p, a in trades]
    body = live.gql(token, ADD, t=sent)
    assert "errors" not in body, body
    placed: list[dict[str, Any]] = body["data"]["addTrades"]
    return placed


def hour_of(created_at: str) -> str:
    moment = datetime.fromisoformat(created_at).astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0).isoformat()


def test_the_changed_bucket_arrives_after_add_trades(live: Live) -> None:
    admin, alice = live.admin(), live.sign_up("candles-a@example.com")
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        subscribe(ws, "sol", "ONE_HOUR")
        live.wait_for(admin, lambda s: s["subscriptions"] >= 1)
        # Another currency's trade sends nothing: the next message is SOL's bucket.
        place(live, alice.token, ("DOGE", "1", "1"))
        first = place(live, alice.token, ("SOL", "9.5", "0.1"), ("SOL", "10.25", "0.2"))
        candle = next_candle(ws)
        assert candle == {
            "currency": "SOL",
            "interval": "ONE_HOUR",
            "start": hour_of(first[0]["createdAt"]),
            "open": "9.50000000",
            "high": "10.25000000",
            "low": "9.50000000",
            "close": "10.25000000",
            "volume": "0.30000000",
            "trades": 2,
        }
        second = place(live, alice.token, ("SOL", "9.49999999", "0.00000001"))
        candle = next_candle(ws)
        if candle["start"] == hour_of(second[0]["createdAt"]) == hour_of(first[0]["createdAt"]):
            assert (candle["low"], candle["close"]) == ("9.49999999", "9.49999999")
            assert (candle["volume"], candle["trades"]) == ("0.30000001", 3)
        else:  # the hour turned between the two calls: a bucket of its own
            assert (candle["open"], candle["trades"]) == ("9.49999999", 1)
        place(live, alice.token, ("DOGE", "2", "2"))
        ws.send({"id": "1", "type": "complete"})
        # Nothing came for DOGE: a ping is answered before anything else.
        ws.send({"type": "ping"})
        assert ws.receive() == {"type": "pong"}


def test_subscribers_of_one_bucket_share_one_read(live: Live) -> None:
    admin = live.admin()
    alice, bob = live.sign_up("candles-s@example.com"), live.sign_up("candles-t@example.com")
    with live.socket() as a, live.socket() as b, live.socket() as c:
        for ws, account in ((a, alice), (b, bob), (c, bob)):
            ws.init({"authToken": account.token})
            subscribe(ws, "ADA", "ONE_MINUTE")
        before = live.wait_for(admin, lambda s: s["subscriptions"] >= 3)
        place(live, alice.token, ("ADA", "3", "1"))
        received = [next_candle(ws) for ws in (a, b, c)]
        after = live.stats(admin)
    assert received[0] == received[1] == received[2]
    assert received[0]["trades"] >= 1
    assert after["executions"] - before["executions"] == 1
    assert after["sharedResults"] - before["sharedResults"] == 2


def test_each_user_pays_for_live_candles_from_one_budget(live: Live) -> None:
    """Each subscription costs CANDLE_UPDATE_COST (20) and its 9 fields per event, against the
    user's live budget (graphql_max_live_cost, 500): 17 fit, the 18th is refused."""
    carol = live.sign_up("candles-budget@example.com")
    with live.socket() as ws:
        ws.init({"authToken": carol.token})
        for n in range(18):
            subscribe(ws, "XRP", "ONE_MINUTE", id=str(n))
        refused = ws.receive()  # no XRP trades: the only message is the refusal
    assert refused["type"] == "error" and refused["id"] == "17", refused
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
