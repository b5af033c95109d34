"""Fixtures for the deployment tests: an empty PostgreSQL database and production settings."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator

import pytest

from tests.databases import PostgresTemplate, postgres_url, require_postgres

# What run-prod and the containers need; the tests pass them explicitly, never from the outside.
REQUIRED_VARIABLES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A PostgreSQL database with no tables at all: the deployment has to migrate it."""
    require_postgres()
    name = f"trading_deploy_{uuid.uuid4().hex[:12]}"
    PostgresTemplate.run(f'CREATE DATABASE "{name}"')
    yield postgres_url(name)
    PostgresTemplate.drop(name)


def production_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment a production process gets: a random key, no settings from the caller."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in REQUIRED_VARIABLES and not name.startswith(("FIRST_ADMIN_", "ENVIRONMENT"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=secrets.token_urlsafe(48),
        ENVIRONMENT="production",
    )
    return env
