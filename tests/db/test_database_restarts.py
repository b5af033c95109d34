"""PostgreSQL restarting, down or starting up is a 503 with Retry-After for every kind of request
(SERVICE_UNAVAILABLE in GraphQL), never a 500; once it is back, requests succeed again."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.postgres_server import PostgresServer
from tests.utils.settings import make_settings

CLIENTS = 4
RECOVERY_SECONDS = 20.0  # a generous bound: it takes well under a second here
TRANSIENT_CODES = {"SERVICE_UNAVAILABLE", "SERVER_BUSY"}
COMPILED = "query Compiled { me { id name } }"
# `job` is not compiled: the whole operation goes the general way, through Strawberry.
GENERAL = 'query General { me { id name } job(id: "none") { status } }'
ADD_TRADE = """mutation Add($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"""
TRADE = {"currency": "BTC", "side": "BUY", "price": "100", "amount": "1"}


@dataclass
class Outcomes:
    """Every answer by request kind; the wrong ones (500s, INTERNAL_SERVER_ERROR...) in full."""

    seen: Counter[tuple[str, int]] = field(default_factory=Counter)
    wrong: list[tuple[str, int, str, dict[str, str]]] = field(default_factory=list)

    def check(self, kind: str, response: httpx.Response) -> bool:
        """Records one answer; whether it was a success."""
        self.seen[kind, response.status_code] += 1
        ok = _success(kind, response)
        if not ok and not _transient(kind, response):
            self.wrong.append((kind, response.status_code, response.text, dict(response.headers)))
        return ok

    def total(self, status: int) -> int:
        return sum(n for (_, code), n in self.seen.items() if code == status)


def _codes(response: httpx.Response) -> set[str]:
    body: dict[str, Any] = response.json()
    return {e.get("extensions", {}).get("code") for e in body.get("errors") or []}


def _success(kind: str, response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    return kind == "rest" or not response.json().get("errors")


def _transient(kind: str, response: httpx.Response) -> bool:
    """A 503 with Retry-After, saying in GraphQL's terms why; or a GraphQL result whose errors
    all say the database is unavailable or busy."""
    if response.status_code == 503:
        if not response.headers.get("retry-after", "").isdigit():
            return False
        return kind == "rest" or (bool(_codes(response)) and _codes(response) <= TRANSIENT_CODES)
    return response.status_code == 200 and kind != "rest" and _codes(response) <= TRANSIENT_CODES


Request = Callable[[], Awaitable[httpx.Response]]


def requests(client: httpx.AsyncClient, token: str) -> dict[str, Request]:
    bearer = {"Authorization": f"Bearer {token}"}

    def graphql(query: str, **variables: Any) -> Request:
        body = {"query": query, "variables": variables}
        return lambda: client.post("/graphql", json=body, headers=bearer)

    return {
        "rest": lambda: client.get("/users/me"),  # by the session cookie
        "compiled": graphql(COMPILED),
        "general": graphql(GENERAL),
        "mutation": graphql(ADD_TRADE, t=[TRADE]),
    }


async def hammer(kinds: dict[str, Request], outcomes: Outcomes, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for kind, request in kinds.items():
            outcomes.check(kind, await request())
        await asyncio.sleep(0.01)


async def all_succeed(kinds: dict[str, Request], outcomes: Outcomes) -> float:
    """Seconds until every kind of request succeeded once in a row; fails after the bound."""
    started = time.monotonic()
    pending = set(kinds)
    while pending:
        assert time.monotonic() - started < RECOVERY_SECONDS, (pending, outcomes.wrong[-3:])
        for kind in sorted(pending):
            if outcomes.check(kind, await kinds[kind]()):
                pending.discard(kind)
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_restarts_and_outages_are_503s_and_heal(
    restartable_postgres: PostgresServer, restartable_database_url: str
) -> None:
    postgres = restartable_postgres
    settings = make_settings(
        restartable_database_url, db_connect_timeout_seconds=1, db_pool_timeout_seconds=1
    )
    async with serve(settings) as (client, _):
        api = Api(client)
        email = f"restart-{time.monotonic_ns()}@example.com"
        _, token = await api.signup(email)
        login = await client.post(
            "/auth/login", data={"username": email, "password": "trade-secret-1"}
        )
        assert login.status_code == 204, login.text
        kinds = requests(client, token)
        outcomes = Outcomes()
        await all_succeed(kinds, outcomes)

        stop = asyncio.Event()
        clients = [asyncio.create_task(hammer(kinds, outcomes, stop)) for _ in range(CLIENTS)]
        try:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(postgres.restart, "fast")  # "shutting down", then back
            await asyncio.sleep(0.3)
            await asyncio.to_thread(postgres.stop, "immediate")  # down: refused
            await asyncio.sleep(0.3)
            # Crash recovery after an immediate stop: "the database system is starting up".
            await asyncio.to_thread(postgres.start, wait=False)
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            await asyncio.gather(*clients)
        await all_succeed(kinds, outcomes)

    assert outcomes.wrong == []
    assert outcomes.total(503) > 0, outcomes.seen  # the outage was seen, and answered 503
    assert set(outcomes.seen) >= {(kind, 200) for kind in kinds}
