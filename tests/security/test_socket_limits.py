"""Sockets are bounded like HTTP requests: messages by MAX_BODY_BYTES before they are parsed,
sockets per user by WS_MAX_SOCKETS_PER_USER, operations per socket by WS_MAX_SUBSCRIPTIONS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.security.live import MB, cost_of
from tests.utils.live import ADD_TRADES, Live, Socket, start_live

MAX_BODY_BYTES = 1_048_576  # the default
SOCKETS_PER_USER = 10  # the default
SUBSCRIPTIONS_PER_SOCKET = 20  # the default


@pytest.fixture(scope="module", params=["web.server", "uvicorn"])
def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Live]:
    """As deployed (`python -m web.server`, whose uvicorn refuses a message beyond the limit
    before reading it), and as plain `uvicorn main:app` (16 MiB), where the app refuses it."""
    directory = tmp_path_factory.mktemp("socket-limits")
    yield from start_live(sqlite_template, directory, launcher=request.param)


def closed_with(ws: Socket) -> tuple[int, str]:
    """Read until the server closes: its code and reason."""
    try:
        while True:
            ws.connection.recv(timeout=10)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason


# A message the server refused while it was still being sent: the server closed with 1009 and
# hung up, and the client, still writing, may get the reset before it reads that close frame.
CUT_OFF = None


def sent_until_closed(ws: Socket, message: str) -> int | None:
    """Send `message`, then the close code the server answered with, or CUT_OFF. Uncompressed,
    the server refuses a message from its frame's header and closes while it is being sent."""
    try:
        ws.connection.send(message)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else CUT_OFF
    try:
        while True:
            ws.connection.recv(timeout=10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else CUT_OFF


def test_a_message_beyond_the_body_limit_is_refused_before_parsing(live: Live) -> None:
    """200,000 trades in an `addTrades` over the socket: 14.8 s of CPU when parsed."""
    alice = live.sign_up("big-message@example.com")
    trade = {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}
    message = json.dumps(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": ADD_TRADES, "variables": {"t": [trade] * 200_000}},
        }
    )
    assert MAX_BODY_BYTES < len(message) < 16 * MB  # plain uvicorn's --ws-max-size lets it in
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        with cost_of(live) as cost:
            assert sent_until_closed(ws, message) in (1009, CUT_OFF)  # Message too big
    assert cost.cpu_seconds < 0.1, cost
    assert cost.rss_growth_bytes < 5 * MB, cost


@pytest.mark.parametrize(
    ("padding", "refused"),
    [
        ("x" * (MAX_BODY_BYTES - 100), False),
        ("x" * (MAX_BODY_BYTES + 1), True),
        # Fewer characters than the limit, more bytes: the limit counts bytes, like HTTP's.
        ("é" * (MAX_BODY_BYTES // 2 + 1), True),
    ],
    ids=["just-below", "just-above", "above-in-utf8-bytes"],
)
def test_the_limit_counts_the_message_bytes(live: Live, padding: str, refused: bool) -> None:
    alice = live.sign_up(f"limit-{len(padding)}-{refused}@example.com")
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        ping = json.dumps({"type": "ping", "payload": {"padding": padding}})
        if refused:
            assert sent_until_closed(ws, ping) in (1009, CUT_OFF)
        else:
            ws.connection.send(ping)
            assert ws.receive() == {"type": "pong"}


def _init(live: Live, token: str, stack: ExitStack) -> dict[str, Any] | tuple[int, str]:
    """connection_init on a new socket kept open in `stack`: the answer, or the close."""
    ws = stack.enter_context(live.socket())
    ws.send({"type": "connection_init", "payload": {"authToken": token}})
    return _answer(ws)


REFUSED = (1013, f"Too many open sockets for this user (at most {SOCKETS_PER_USER})")


def test_sockets_per_user_are_capped_at_connection_init(live: Live) -> None:
    admin = live.admin()
    alice = live.sign_up("many-sockets@example.com")
    laptop = live.signed_in_again("many-sockets@example.com")  # another session, same user
    bob = live.sign_up("other-user@example.com")
    with ExitStack() as stack:
        answers = [_init(live, alice.token, stack) for _ in range(SOCKETS_PER_USER)]
        assert answers == [{"type": "connection_ack"}] * SOCKETS_PER_USER
        assert _init(live, alice.token, stack) == REFUSED
        assert _init(live, laptop.token, stack) == REFUSED  # per user, not per session
        assert _init(live, bob.token, stack) == {"type": "connection_ack"}
        # A refusal costs a handshake and the one query that loads the viewer.
        with cost_of(live) as cost:
            for _ in range(20):
                with ExitStack() as refused:
                    assert _init(live, alice.token, refused) == REFUSED
        assert cost.per(20) < 0.02, cost
    # Once they are closed, the user may connect again.
    live.wait_for(admin, lambda s: s["connections"] == 0)
    with ExitStack() as stack:
        assert _init(live, alice.token, stack) == {"type": "connection_ack"}


def test_concurrent_inits_cannot_exceed_the_cap(live: Live) -> None:
    admin = live.admin()
    alice = live.sign_up("racing-sockets@example.com")
    live.wait_for(admin, lambda s: s["connections"] == 0)
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=16) as pool:
        sockets = [stack.enter_context(live.socket()) for _ in range(16)]
        init = {"type": "connection_init", "payload": {"authToken": alice.token}}
        for ws in sockets:
            ws.send(init)
        answers = list(pool.map(_answer, sockets))
    assert answers.count({"type": "connection_ack"}) == SOCKETS_PER_USER
    assert answers.count(REFUSED) == 16 - SOCKETS_PER_USER


def _answer(ws: Socket) -> dict[str, Any] | tuple[int, str]:
    try:
        return ws.receive()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, closed.rcvd.reason


def test_operations_per_socket_are_capped_at_the_documented_default(live: Live) -> None:
    """WS_MAX_SUBSCRIPTIONS counts every operation at once: a mutation beyond it is refused."""
    alice = live.sign_up("many-subscriptions@example.com")
    trade = {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}
    mutation = {"query": ADD_TRADES, "variables": {"t": [trade]}}
    with live.socket() as ws:
        ws.init({"authToken": alice.token})
        for n in range(SUBSCRIPTIONS_PER_SOCKET):
            ws.subscribe(str(n))
        ws.send({"id": "mutation", "type": "subscribe", "payload": mutation})
        refused = ws.receive()
        assert (refused["type"], refused["id"]) == ("error", "mutation")
        assert refused["payload"][0]["message"] == "Subscription limit reached"
        # Completing one frees its place.
        ws.send({"id": "0", "type": "complete"})
        ws.send({"id": "again", "type": "subscribe", "payload": mutation})
        answers = {ws.receive()["id"] for _ in range(SUBSCRIPTIONS_PER_SOCKET + 1)}
    # The mutation's result and completion, and its trade delivered to the 19 left.
    assert answers == {str(n) for n in range(1, SUBSCRIPTIONS_PER_SOCKET)} | {"again"}


@pytest.fixture(scope="module")
def strict(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("new-sockets"), ws_max_new_sockets_per_minute="5"
    )


def test_new_sockets_per_user_are_rate_limited(strict: Live) -> None:
    """A client reconnecting in a loop: each socket costs a handshake and a session check."""
    alice = strict.sign_up("reconnecting@example.com")
    bob = strict.sign_up("patient@example.com")
    for _ in range(5):
        with ExitStack() as stack:
            assert _init(strict, alice.token, stack) == {"type": "connection_ack"}
    with ExitStack() as stack:
        code, reason = _init(strict, alice.token, stack)
    assert code == 1013
    assert reason.startswith("Too many new sockets for this user; try again in ")
    with ExitStack() as stack:
        assert _init(strict, bob.token, stack) == {"type": "connection_ack"}
