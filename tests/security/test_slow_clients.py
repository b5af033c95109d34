"""Slow clients cannot hold connections: against a live `python -m web.server`, a connection
that sends nothing, or its headers or body a byte at a time, is closed once
HTTP_READ_TIMEOUT_SECONDS have passed, an idle keep-alive connection after
HTTP_IDLE_TIMEOUT_SECONDS; normal requests, keep-alive reuse and open WebSockets are unaffected,
and WebSocket messages beyond MAX_BODY_BYTES close the socket."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.security.live import cost_of
from tests.utils.live import Account, Live, start_live

READ_TIMEOUT = 1.0
IDLE_TIMEOUT = 2
MAX_BODY_BYTES = 65_536
SLACK = 1.5  # seconds: the shared machine's scheduling
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template,
        tmp_path_factory.mktemp("slow"),
        http_read_timeout_seconds=str(READ_TIMEOUT),
        http_idle_timeout_seconds=str(IDLE_TIMEOUT),
        max_body_bytes=str(MAX_BODY_BYTES),
    )


def connect(live: Live) -> socket.socket:
    port = int(live.server.base_url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(0.05)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and body) of a kept-alive connection."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def closed_after(sock: socket.socket, drip: bytes, limit: float, gap: float = 0.1) -> float:
    """Send `drip` a byte every `gap` seconds (nothing when empty) until the server closes the
    connection; the seconds that took. Fails when it is still open after `limit`."""
    started = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - started) < limit:
        if sent < len(drip):
            try:
                sock.send(drip[sent : sent + 1])
            except OSError:
                return elapsed
            sent += 1
        try:
            if sock.recv(4096) == b"":
                return elapsed
        except TimeoutError:
            pass
        except OSError:
            return elapsed
        time.sleep(gap)
    raise AssertionError(f"still open after {limit} s")


def test_a_connection_that_sends_nothing_is_closed(live: Live) -> None:
    with connect(live) as sock:
        assert closed_after(sock, b"", READ_TIMEOUT + SLACK) >= READ_TIMEOUT - 0.2


def test_headers_sent_a_byte_at_a_time_are_cut_off(live: Live) -> None:
    endless = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: " + b"a" * 10_000
    # The least of three rounds: the server's idle work (the relay's poll, the log writer)
    # costs ~12 ms a second and, on the shared machine, once cost 0.12 s in one round; a drip
    # that made the server work would cost every round.
    costs = []
    for _ in range(3):
        with cost_of(live) as cost, connect(live) as sock:
            took = closed_after(sock, endless, READ_TIMEOUT + SLACK)
        assert took >= READ_TIMEOUT - 0.2
        costs.append(cost.cpu_seconds)
    assert min(costs) < 0.1, costs


def test_a_body_sent_a_byte_at_a_time_is_cut_off(live: Live) -> None:
    head = (
        b"POST /auth/register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    with connect(live) as sock:
        sock.sendall(head)
        took = closed_after(sock, b"{" + b" " * 998, READ_TIMEOUT + SLACK)
    assert took >= READ_TIMEOUT - 0.2


def test_the_deadline_restarts_with_each_request_of_a_kept_alive_connection(live: Live) -> None:
    with connect(live) as sock:
        sock.settimeout(5)
        for _ in range(3):  # together longer than the read timeout, each well within it
            time.sleep(READ_TIMEOUT * 0.6)
            sock.sendall(REQUEST)
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.settimeout(0.05)
        took = closed_after(sock, b"", IDLE_TIMEOUT + SLACK)
    assert took >= IDLE_TIMEOUT - 0.2  # then the idle timeout, not the read deadline


def test_an_open_websocket_outlives_the_read_deadline(live: Live) -> None:
    account: Account = live.sign_up("socket@example.com")
    with live.socket() as ws:
        ws.init({"authToken": account.token})
        time.sleep(READ_TIMEOUT + SLACK)
        ws.send({"type": "ping"})
        assert ws.receive() == {"type": "pong"}


def test_a_websocket_message_beyond_the_body_limit_closes_the_socket(live: Live) -> None:
    with live.socket() as ws:
        with contextlib.suppress(ConnectionClosed):
            ws.connection.send("x" * (MAX_BODY_BYTES + 1))
        assert ws.close_code() == 1009  # message too big
