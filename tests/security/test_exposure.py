"""What a live server tells the world: `nosniff` on every response, HSTS in production, and the
REST docs (`/docs`, `/redoc`, `/openapi.json`) only in development or when REST_DOCS allows."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.utils.live import Live, start_live

DOCS = ("/docs", "/redoc", "/openapi.json")
# Production refuses the tests' development key: a random-looking one of its own.
PRODUCTION_SECRET = "Zq8vX2mK4pL9sT6wR1yB3nC5dF7gH0jU"
HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture(scope="module")
def development(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("development"))


@pytest.fixture(scope="module")
def production(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template,
        tmp_path_factory.mktemp("production"),
        environment="production",
        jwt_secret=PRODUCTION_SECRET,
    )


def answers(live: Live) -> list[httpx.Response]:
    """A sample of every kind of answer: probes, GraphQL (compiled, general, refused, bad JSON),
    REST, errors, a 404, a 405, a 413 and a CORS preflight; and uvicorn's own 400."""
    port = int(live.server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP\r\n\r\n")
        malformed = sock.recv(4096)
    head = malformed.split(b"\r\n\r\n")[0].decode()
    invalid = httpx.Response(
        int(head[9:12]),
        headers={
            name: value for name, _, value in (h.partition(": ") for h in head.split("\r\n")[1:])
        },
        request=httpx.Request("GET", f"{live.server.base_url}/malformed"),
    )
    with live.http() as http:
        return [
            invalid,
            http.get("/healthz"),
            http.get("/readyz"),
            http.post("/graphql", json={"query": "{ __typename }"}),
            http.post("/graphql", json={"query": "{ me { id } }"}),
            http.post("/graphql", content=b"{", headers={"content-type": "application/json"}),
            http.get("/graphql", params={"query": "mutation { logout }"}),
            http.post("/auth/token", data={"username": "nobody@example.com", "password": "x"}),
            http.post("/auth/register", json={}),
            http.get("/users/me"),
            http.get("/no-such-page"),
            http.post("/graphql", content=b"x" * 2_000_000),
            http.options(
                "/graphql",
                headers={
                    "origin": "http://app.example",
                    "access-control-request-method": "POST",
                },
            ),
        ]


def test_every_answer_says_nosniff(development: Live) -> None:
    for response in answers(development):
        assert response.headers.get("x-content-type-options") == "nosniff", (
            response.request.url,
            response.status_code,
        )
        assert "strict-transport-security" not in response.headers


def test_production_answers_say_nosniff_and_hsts(production: Live) -> None:
    for response in answers(production):
        assert response.headers.get("x-content-type-options") == "nosniff", response.request.url
        assert response.headers.get("strict-transport-security") == HSTS, response.request.url


def test_rest_docs_are_served_in_development(development: Live) -> None:
    with development.http() as http:
        for path in DOCS:
            assert http.get(path).status_code == 200, path


def test_rest_docs_are_not_served_in_production(production: Live) -> None:
    with production.http() as http:
        for path in DOCS:
            assert http.get(path).status_code == 404, path


def test_rest_docs_can_be_turned_on_in_production(sqlite_template: Path, tmp_path: Path) -> None:
    with (
        contextmanager(start_live)(
            sqlite_template,
            tmp_path,
            environment="production",
            jwt_secret=PRODUCTION_SECRET,
            rest_docs="true",
        ) as live,
        live.http() as http,
    ):
        for path in DOCS:
            assert http.get(path).status_code == 200, path
