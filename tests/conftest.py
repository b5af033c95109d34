"""Fixtures: every database test runs on SQLite and on PostgreSQL, each in a fresh database."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError

from main import create_app
from services import Services
from settings import Settings
from tests.databases import (
    PostgresTemplate,
    copy_sqlite,
    migrate,
    postgres_url,
    require_postgres,
    sqlite_url,
)
from tests.utils.needs import needed

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
TEST_SECRET = "test-signing-key-" + "x" * 32
# A logical database of its own, emptied around every test that uses it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    require_postgres()
    template = PostgresTemplate()
    template.create()
    yield template
    template.drop(template.name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of its own for one test."""
    if request.param == "sqlite":
        yield copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "test.db")
        return
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    name = template.copy()
    yield postgres_url(name)
    template.drop(name)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "first_admin_email": ADMIN_EMAIL,
        "first_admin_password": ADMIN_PASSWORD,
        "cors_origins": ["http://app.example"],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@asynccontextmanager
async def serve(
    settings: Settings, base_url: str = "http://testserver"
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """An app started (lifespan and all) with a client that talks to it in-process."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base_url) as client,
    ):
        yield client, app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://testserver"
    ) as client:
        yield client


@dataclass
class Api:
    """Drives the API the way a client does: REST auth, then GraphQL with a bearer token."""

    client: httpx.AsyncClient

    async def register(
        self, email: str, name: str = "Trader", password: str = "trade-secret-1"
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()
        return user

    async def token(self, email: str, password: str = "trade-secret-1") -> str:
        response = await self.client.post(
            "/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def signup(self, email: str, name: str = "Trader") -> tuple[int, str]:
        user = await self.register(email, name)
        return user["id"], await self.token(email)

    async def admin_token(self) -> str:
        return await self.token(ADMIN_EMAIL, ADMIN_PASSWORD)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


async def _flush_redis(url: str) -> None:
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A real, empty Redis database for one test; emptied again after it.

    Fails in CI (`CI=true`), and skips loudly elsewhere, when Redis is unreachable (as PostgreSQL).
    """
    try:
        await _flush_redis(TEST_REDIS_URL)
    except (RedisError, OSError) as error:
        needed(f"Redis unreachable at {TEST_REDIS_URL}: {error}")
    yield TEST_REDIS_URL
    await _flush_redis(TEST_REDIS_URL)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's `chromium` package (.ci/run installs it) for the browser tests and the browser
    example; playwright-core downloads nothing."""
    path = shutil.which("chromium")
    if path is None:
        needed("Chromium is needed for the browser tests: apt-get install chromium")
    assert path is not None
    return path
