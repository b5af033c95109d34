"""A client that closes its sockets under its own mutations cannot lock anyone else out of writing.

Strawberry cancels a socket's operations when it closes. On SQLite a statement already handed to
aiosqlite's thread runs on regardless; SQLAlchemy then closed its connection without its cursor,
and SQLite kept that connection open, with the write lock, until the cursor was garbage-collected:
every other write waited out the 5 s busy timeout and was told the database is unavailable (503 on
`/auth/register`), for a minute or more. PostgreSQL is not affected: a connection SQLAlchemy
terminates takes its transaction with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.utils.live import ADD_TRADES, PASSWORD, Account, Live, Socket, start_live

SOCKETS = 5  # of the 10 a user may open
IN_FLIGHT = 20  # operations in flight per socket, the default WS_MAX_SUBSCRIPTIONS
# Seconds between sending the mutations and closing: some closes land inside a statement.
DELAYS = [0.01 * step for step in range(1, 21)]
# Another user's write after the close: it may wait for statements still finishing (well under a
# second), never for the 5 s busy timeout.
WRITE_WITHIN = 2.0
RENAME = "mutation($id: Int!, $n: String!) { changeUserName(userId: $id, newName: $n) { id } }"
TRADES = [{"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}] * 100


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """100 sockets in a few seconds: beyond the new sockets a user may open in a minute, which
    would refuse most of them before any mutation could be cut off."""
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("cancelled"), ws_max_new_sockets_per_minute="1000"
    )


def mutations(attacker: Account) -> list[dict[str, Any]]:
    """Half `addTrades` (INSERT ... RETURNING), half `changeUserName` (UPDATE ... RETURNING)."""
    messages: list[dict[str, Any]] = []
    for n in range(IN_FLIGHT // 2):
        payloads = (
            {"query": ADD_TRADES, "variables": {"t": TRADES}},
            {"query": RENAME, "variables": {"id": attacker.id, "n": f"Mallory {n}"}},
        )
        for kind, payload in enumerate(payloads):
            messages.append({"id": f"{n}-{kind}", "type": "subscribe", "payload": payload})
    return messages


def close_under_mutations(live: Live, attacker: Account, delay: float) -> None:
    with ExitStack() as stack:
        sockets: list[Socket] = [stack.enter_context(live.socket()) for _ in range(SOCKETS)]
        for socket in sockets:
            socket.init({"authToken": attacker.token})
        for socket in sockets:
            for message in mutations(attacker):
                socket.send(message)
        time.sleep(delay)


def test_sockets_closed_under_mutations_leave_others_able_to_write(live: Live) -> None:
    mallory = live.sign_up("mallory-cancels@example.com")
    bob = live.sign_up("bob-writes@example.com")
    for delay in DELAYS:
        close_under_mutations(live, mallory, delay)
        started = time.monotonic()
        body = live.gql(bob.token, ADD_TRADES, t=TRADES[:1])
        waited = time.monotonic() - started
        assert "errors" not in body, (delay, waited, body)
        assert waited < WRITE_WITHIN, f"closed after {delay:.2f} s: bob waited {waited:.1f} s"
    with live.http() as http:
        started = time.monotonic()
        registered = http.post(
            "/auth/register",
            json={"email": "carol-registers@example.com", "password": PASSWORD, "name": "Carol"},
        )
    assert registered.status_code == 201, registered.text
    assert time.monotonic() - started < WRITE_WITHIN
