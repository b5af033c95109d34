"""Fixtures: every database test runs on SQLite and on PostgreSQL, each in a fresh database."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError

from main import create_app
from services import Services
from settings import Settings
from tests.utils.api import Api
from tests.utils.databases import (
    PostgresTemplate,
    copy_sqlite,
    migrate,
    postgres_url,
    require_postgres,
    sqlite_url,
)
from tests.utils.needs import needed
from tests.utils.settings import TEST_REDIS_URL, make_settings


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


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://testserver"
    ) as client:
        yield client


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
