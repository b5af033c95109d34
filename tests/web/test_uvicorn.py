"""The app served by a real uvicorn process: start-up from environment variables, cookie login
over real HTTP, GraphQL queries and mutations, GraphiQL, and a clean shutdown."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.databases import copy_sqlite
from tests.utils.servers import uvicorn_servers
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD

PASSWORD = "trade-secret-1"


def graphql(http: httpx.Client, query: str) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def database_file(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh copy of the migrated SQLite template."""
    return copy_sqlite(sqlite_template, tmp_path / "served.db")


def test_served_by_uvicorn(database_file: str, tmp_path: Path) -> None:
    """Register, log in with the cookie, query and mutate over real HTTP, then shut down."""
    with (
        uvicorn_servers(database_file, tmp_path / "uvicorn.log") as (server,),
        httpx.Client(base_url=server.base_url, timeout=10.0) as http,
    ):
        registered = http.post(
            "/auth/register",
            json={"email": "Trader@Example.com", "password": PASSWORD, "name": "Trader"},
        )
        assert registered.status_code == 201, registered.text
        assert "x-request-id" in registered.headers

        assert graphql(http, "{ me { email } }") == {"data": {"me": None}}
        login = http.post(
            "/auth/login", data={"username": "trader@example.com", "password": PASSWORD}
        )
        assert login.status_code == 204, login.text
        assert "access_token" in http.cookies

        assert graphql(http, "{ me { email } }") == {
            "data": {"me": {"email": "trader@example.com"}}
        }
        added = graphql(
            http,
            'mutation { addTrades(trades: [{currency: "BTC", side: BUY, price: "1.5", '
            'amount: "2"}]) { id price } }',
        )
        assert "errors" not in added, added
        (trade,) = added["data"]["addTrades"]
        assert isinstance(trade["id"], int)
        assert trade["price"] == "1.50000000"
        listed = graphql(http, "{ trades { id currency side amount } }")
        assert listed == {
            "data": {
                "trades": [
                    {"id": trade["id"], "currency": "BTC", "side": "BUY", "amount": "2.00000000"}
                ]
            }
        }

        ide = http.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 200
        assert ide.headers["content-type"].startswith("text/html")
        assert "graphiql" in ide.text.lower()

        assert http.post("/auth/logout").status_code == 204
        assert graphql(http, "{ me { email } }") == {"data": {"me": None}}

        # The first admin came from the environment variables.
        admin = http.post("/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert admin.status_code == 200, admin.text

    # A graceful stop: the lifespan finished (uvicorn then re-raises SIGTERM, hence -15).
    assert server.process.returncode in (0, -signal.SIGTERM), server.output()
    assert "Application shutdown complete" in server.output()


def test_two_processes_share_one_database(database_file: str, tmp_path: Path) -> None:
    """Two servers started together on one SQLite file both come up (the first-admin race is
    handled), agree on tokens, and see each other's writes."""
    with (
        uvicorn_servers(database_file, tmp_path / "one.log", tmp_path / "two.log") as (one, two),
        httpx.Client(base_url=one.base_url, timeout=10.0) as first,
        httpx.Client(base_url=two.base_url, timeout=10.0) as second,
    ):
        registered = first.post(
            "/auth/register",
            json={"email": "shared@example.com", "password": PASSWORD, "name": "Shared"},
        )
        assert registered.status_code == 201, registered.text
        token = second.post(
            "/auth/token", data={"username": "shared@example.com", "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        me = first.get(
            "/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "shared@example.com"

        admin_token = first.post(
            "/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        users = second.post(
            "/graphql",
            json={"query": "{ users(limit: 100) { email role } }"},
            headers={"Authorization": f"Bearer {admin_token}"},
        ).json()
        emails = [user["email"] for user in users["data"]["users"]]
        assert emails.count(ADMIN_EMAIL) == 1
