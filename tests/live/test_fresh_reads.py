"""A socket lives long: what its events read comes from the database, not from cache entries
keyed by the data versions of its handshake."""

from __future__ import annotations

import pytest

from tests.utils.live import Live
from tests.utils.settings import APP_ORIGIN

WARM = "query($id: Int!) { cacheStats { hits } user(id: $id) { degrees { name } } }"
ADD_DEGREE = "mutation($id: Int!) { addDegree(userId: $id, name: EXPERT) { id } }"
TRADE_WITH_DEGREES = "subscription { tradeAdded { id user { degrees { name } } } }"


@pytest.mark.parametrize("auth", ["cookie", "connectionParams"])
def test_an_event_shows_writes_made_after_the_socket_opened(live: Live, auth: str) -> None:
    admin, alice = live.admin(), live.sign_up(f"fresh-{auth}@example.com")
    # The general path (cacheStats is no compiled query) caches alice's degrees: none yet.
    warmed = live.gql(admin.token, WARM, id=alice.id)
    assert warmed["data"]["user"] == {"degrees": []}, warmed
    headers = {"Cookie": f"access_token={alice.cookie}"} if auth == "cookie" else {}
    with live.socket(headers=headers, origin=APP_ORIGIN) as ws:
        ws.init({"authToken": alice.token} if auth == "connectionParams" else None)
        ws.subscribe(query=TRADE_WITH_DEGREES)
        live.wait_for(admin, lambda s: s["subscriptions"] >= 1)
        assert "errors" not in live.gql(admin.token, ADD_DEGREE, id=alice.id)
        [trade_id] = live.add(alice.token, "BTC")
        assert ws.next_trade() == {"id": trade_id, "user": {"degrees": [{"name": "EXPERT"}]}}
