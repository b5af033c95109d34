"""A real uvicorn process and real WebSocket clients (the `websockets` library) for live trades."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.utils.databases import copy_sqlite
from tests.utils.servers import Server, uvicorn_servers
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD

PROTOCOL = "graphql-transport-ws"
PASSWORD = "trade-secret-1"
RECEIVE_TIMEOUT = 5.0
TRADE_ADDED = (
    "subscription($c: String) { tradeAdded(currency: $c) "
    "{ id currency side price amount user { id name email } } }"
)
ADD_TRADES = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"
LIVE_STATS = (
    "{ liveStats { connections subscriptions delivered slowConsumersClosed executions "
    "sharedResults tasks } }"
)


@dataclass(frozen=True)
class Account:
    id: int
    token: str
    cookie: str  # the HttpOnly session cookie POST /auth/login sets


class Socket:
    """One graphql-transport-ws connection, spoken message by message."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send(json.dumps(message))

    def receive(self, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.connection.recv(timeout=timeout))
        return message

    def init(self, payload: dict[str, Any] | None = None) -> None:
        self.send({"type": "connection_init", "payload": payload or {}})
        assert self.receive() == {"type": "connection_ack"}

    def subscribe(
        self, id: str = "1", currency: str | None = None, query: str = TRADE_ADDED
    ) -> None:
        self.send(
            {
                "id": id,
                "type": "subscribe",
                "payload": {"query": query, "variables": {"c": currency}},
            }
        )

    def next_trade(self, id: str = "1") -> dict[str, Any]:
        message = self.receive()
        assert message["type"] == "next" and message["id"] == id, message
        assert "errors" not in message["payload"], message
        trade: dict[str, Any] = message["payload"]["data"]["tradeAdded"]
        return trade

    def close_code(self, timeout: float = RECEIVE_TIMEOUT) -> int | None:
        """Read until the server closes; the code it closed with."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.connection.recv(timeout=deadline - time.monotonic())
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        raise AssertionError(f"the server did not close within {timeout} s")


@dataclass
class Live:
    server: Server

    @property
    def ws_url(self) -> str:
        return self.server.base_url.replace("http://", "ws://") + "/graphql"

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url, timeout=10.0)

    def sign_up(self, email: str, name: str = "Trader") -> Account:
        with self.http() as http:
            registered = http.post(
                "/auth/register", json={"email": email, "password": PASSWORD, "name": name}
            )
            assert registered.status_code == 201, registered.text
            return Account(registered.json()["id"], *self._credentials(http, email, PASSWORD))

    def signed_in_again(self, email: str) -> Account:
        """Another session (a second device) of an existing account."""
        with self.http() as http:
            token, cookie = self._credentials(http, email, PASSWORD)
            me = http.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
            return Account(me["id"], token, cookie)

    def admin(self) -> Account:
        with self.http() as http:
            token, cookie = self._credentials(http, ADMIN_EMAIL, ADMIN_PASSWORD)
            me = http.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
            return Account(me["id"], token, cookie)

    @staticmethod
    def _credentials(http: httpx.Client, email: str, password: str) -> tuple[str, str]:
        form = {"username": email, "password": password}
        token = http.post("/auth/token", data=form).json()["access_token"]
        assert http.post("/auth/login", data=form).status_code == 204
        cookie = http.cookies["access_token"]
        http.cookies.clear()
        return token, cookie

    def gql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        with self.http() as http:
            response = http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
        body: dict[str, Any] = response.json()
        return body

    def add(self, token: str, *currencies: str, price: str = "1") -> list[int]:
        trades = [{"currency": c, "side": "BUY", "price": price, "amount": "1"} for c in currencies]
        body = self.gql(token, ADD_TRADES, t=trades)
        assert "errors" not in body, body
        return [t["id"] for t in body["data"]["addTrades"]]

    def stats(self, admin: Account) -> dict[str, int]:
        body = self.gql(admin.token, LIVE_STATS)
        assert "errors" not in body, body
        stats: dict[str, int] = body["data"]["liveStats"]
        return stats

    def wait_for(
        self, admin: Account, condition: Callable[[dict[str, int]], bool], timeout: float = 10
    ) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while not condition(stats := self.stats(admin)):
            assert time.monotonic() < deadline, f"liveStats never got there: {stats}"
            time.sleep(0.05)
        return stats

    @contextmanager
    def socket(
        self,
        *,
        headers: dict[str, str] | None = None,
        protocol: str = PROTOCOL,
        origin: str | None = None,
        receive_buffer: int | None = None,
    ) -> Iterator[Socket]:
        """`receive_buffer` shrinks the kernel's receive buffer, to play a slow reader."""
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect(("127.0.0.1", int(self.server.base_url.rsplit(":", 1)[1])))
        with connect(
            self.ws_url,
            sock=sock,
            max_queue=1 if receive_buffer is not None else 16,
            # Compressed frames would let far more events fit in the buffers.
            compression=None if receive_buffer is not None else "deflate",
            subprotocols=[protocol],  # type: ignore[list-item]
            additional_headers=headers or {},
            origin=origin,  # type: ignore[arg-type]
            open_timeout=RECEIVE_TIMEOUT,
            close_timeout=1,
        ) as connection:
            yield Socket(connection)


def start_live(
    sqlite_template: Path, directory: Path, launcher: str = "web.server", **settings: str
) -> Iterator[Live]:
    database = copy_sqlite(sqlite_template, directory / "live.db")
    log = directory / "uvicorn.log"
    with uvicorn_servers(database, log, launcher=launcher, **settings) as (server,):
        yield Live(server)
