"""Fixtures for the deployment tests: an empty PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.utils.databases import PostgresTemplate, postgres_url, require_postgres


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A PostgreSQL database with no tables at all: the deployment has to migrate it."""
    require_postgres()
    name = f"trading_deploy_{uuid.uuid4().hex[:12]}"
    PostgresTemplate.run(f'CREATE DATABASE "{name}"')
    yield postgres_url(name)
    PostgresTemplate.drop(name)
