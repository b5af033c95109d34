"""A socket's session ends when its token does: closed with 4403 at the token's expiry, and no
operation sent over it after that moment runs."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from auth.tokens import ALGORITHM, key_id
from tests.utils.live import ADD_TRADES, Live, start_live
from tests.utils.settings import TEST_SECRET

TRADES = "{ me { trades(limit: 100) { id } } }"


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("sessions"))


@pytest.fixture(scope="module")
def racing(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server of its own: mutations cut off by the close can leave SQLite locked for seconds
    (an operation cancelled inside its transaction), which other tests must not wait on."""
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("racing"))


def expiring_in(token: str, seconds: int) -> tuple[str, float]:
    """The same session's token, re-signed by the server's key to expire `seconds` from now
    (JWT_LIFETIME_MINUTES counts minutes); and when it expires, as a Unix time."""
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = math.ceil(time.time()) + seconds
    short = jwt.encode(
        claims, TEST_SECRET, algorithm=ALGORITHM, headers={"kid": key_id(TEST_SECRET)}
    )
    return short, float(claims["exp"])


def mutation(id: str, currency: str) -> dict[str, Any]:
    trade = {"currency": currency, "side": "BUY", "price": "1", "amount": "1"}
    return {
        "id": id,
        "type": "subscribe",
        "payload": {"query": ADD_TRADES, "variables": {"t": [trade]}},
    }


def test_socket_is_closed_with_4403_when_its_token_expires(live: Live) -> None:
    alice = live.sign_up("expires@example.com")
    short, expires_at = expiring_in(alice.token, 2)
    with live.socket() as ws:
        ws.init({"authToken": short})
        ws.subscribe()
        ws.send(mutation("before", "BTC"))
        assert ws.receive()["type"] == "next"  # the mutation ran while the token was valid
        assert ws.receive() == {"id": "before", "type": "complete"}
        try:
            while True:
                ws.connection.recv(timeout=expires_at - time.time() + 3)
        except ConnectionClosed as closed:
            ended = time.time()
            assert closed.rcvd is not None
            assert (closed.rcvd.code, closed.rcvd.reason) == (4403, "Session expired")
    assert expires_at <= ended < expires_at + 1.5


def test_handshake_token_that_expires_before_connection_init_is_refused(live: Live) -> None:
    """A bearer header is read at the handshake; connection_init may come seconds later."""
    alice = live.sign_up("late-init@example.com")
    short, expires_at = expiring_in(alice.token, 1)
    with live.socket(headers={"Authorization": f"Bearer {short}"}) as ws:
        time.sleep(max(0.0, expires_at - time.time() + 0.2))
        ws.send({"type": "connection_init", "payload": {}})
        assert ws.close_code() == 4403


def test_no_operation_sent_after_expiry_runs(racing: Live) -> None:
    """Mutations sent back to back across the moment of expiry: no more trades were added than
    mutations were sent before it, and the socket ends with 4403."""
    live = racing
    alice = live.sign_up("expiry-race@example.com")
    short, expires_at = expiring_in(alice.token, 2)
    sent = {"before": 0, "after": 0}
    with live.socket() as ws:
        ws.init({"authToken": short})
        time.sleep(max(0.0, expires_at - 0.3 - time.time()))
        for n in range(50):
            try:
                ws.send(mutation(str(n), "ETH"))
            except ConnectionClosed:
                break
            sent["after" if time.time() >= expires_at else "before"] += 1
            time.sleep(0.02)
        assert ws.close_code() == 4403
    assert sent["after"] > 0, "no mutation was sent after the expiry: nothing was tested"
    body = live.gql(alice.token, TRADES)  # the same session: its long-lived token
    assert "errors" not in body, body
    assert 0 < len(body["data"]["me"]["trades"]) <= sent["before"], sent
