"""PostgreSQL unreachable or its pool exhausted: requests fail fast with a clear error, /readyz
says so, and everything recovers by itself when the database is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from services import Services
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.databases import POSTGRES_ADMIN_URL, PostgresTemplate, postgres_url
from tests.utils.ports import free_port
from tests.utils.settings import make_settings

FAST = 3.0  # seconds: what "fail fast" means here
UNAVAILABLE = "The database is unavailable; try again shortly"
GRAPHQL_UNAVAILABLE = {
    "errors": [{"message": UNAVAILABLE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]
}


class TcpProxy:
    """A TCP relay to PostgreSQL that the test can cut and restore, like a network outage."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                target.transport.abort()
                self._writers.discard(target)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
def postgres_database(postgres_template: PostgresTemplate) -> Iterator[str]:
    name = postgres_template.copy()
    yield name
    postgres_template.drop(name)


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    relay = TcpProxy(make_url(POSTGRES_ADMIN_URL).port or 5432)
    await relay.start()
    yield relay
    await relay.cut()


def via(proxy: TcpProxy, database: str) -> str:
    return str(make_url(postgres_url(database)).set(port=proxy.port).render_as_string(False))


async def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await call
    return result, time.monotonic() - started


async def test_database_outage_fails_fast_and_recovers(
    proxy: TcpProxy, postgres_database: str
) -> None:
    settings = make_settings(via(proxy, postgres_database), db_connect_timeout_seconds=1)
    async with serve(settings) as (client, _):
        api = Api(client)
        _, token = await api.signup("outage@example.com")
        headers = {"Authorization": f"Bearer {token}"}
        query = {"query": "{ trades { id } }"}
        assert (await client.post("/graphql", json=query, headers=headers)).json() == {
            "data": {"trades": []}
        }

        await proxy.cut()
        response, took = await timed(client.post("/graphql", json=query, headers=headers))
        assert took < FAST
        assert response.status_code == 503, response.text
        assert response.json() == GRAPHQL_UNAVAILABLE
        assert response.headers["retry-after"] == "5"
        rest = await client.get("/users/me", headers=headers)
        assert rest.status_code == 503, rest.text
        assert rest.json() == {
            "detail": UNAVAILABLE,
            "code": "SERVICE_UNAVAILABLE",
            "errors": [],
        }
        assert rest.headers["retry-after"] == "5"
        anonymous, took = await timed(client.post("/graphql", json=query))
        assert took < FAST
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable")
        assert (await client.get("/healthz")).json() == {"status": "ok"}

        await proxy.start()  # the same port: the database is back
        response = await client.post("/graphql", json=query, headers=headers)
        assert response.json() == {"data": {"trades": []}}
        assert (await client.get("/readyz")).json() == {
            "status": "ok",
            "checks": {"database": "ok"},
        }


async def test_exhausted_pool_fails_fast_and_recovers(postgres_database: str) -> None:
    settings = make_settings(
        postgres_url(postgres_database),
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.5,
    )
    async with serve(settings) as (client, app):
        api = Api(client)
        _, token = await api.signup("pool@example.com")
        services: Services = app.state.services
        # Each pool's only connection, held elsewhere: the compiled path's, then the general's.
        held = [await services.reader.connect(), await services.engine.connect()]
        try:
            response, took = await timed(
                client.post(
                    "/graphql",
                    json={"query": "{ trades { id } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            assert took < FAST
            assert response.status_code == 503, response.text
        finally:
            for connection in held:
                await connection.close()
        assert await api.gql("{ trades { id } }", token=token) == {"data": {"trades": []}}


async def test_readyz_checks_redis_when_configured(database_url: str, redis_url: str) -> None:
    async with serve(make_settings(database_url, redis_url=redis_url)) as (client, _):
        ready = await client.get("/readyz")
    # No worker runs: said in the body, without failing readiness (web/health.py says why).
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
        "worker": "down: no arq worker has written a heartbeat in the last 10 s",
    }

    closed = f"redis://127.0.0.1:{free_port()}/0"
    async with serve(make_settings(database_url, redis_url=closed)) as (client, _):
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("unreachable")
    assert ready.json()["worker"] == "unknown: Redis does not answer"
